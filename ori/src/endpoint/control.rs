//! The built-in control messages of PROTOCOL.md, answered by the server
//! itself on every envelope endpoint: `ping` (answered `pong`), `subscribe`
//! and `unsubscribe` (a topic that follows the name rules, is not reserved,
//! and, for `subscribe`, that the topic authorizer allows).

use std::borrow::Cow;

use futures_util::FutureExt;
use serde::Deserialize;
use serde_json::value::RawValue;
use tracing::Span;

use crate::endpoint::Endpoint;
use crate::endpoint::dispatch::{Dispatched, error_frame, start};
use crate::error::PubSubError;
use crate::handles::socket::Socket;
use crate::protocol::encode;
use crate::protocol::envelope::{CorrelationId, decode_data};
use crate::protocol::names::{is_reserved_topic, validate_topic};
use crate::protocol::reply::{Reply, ReplyTo};
use crate::protocol::socket_error::SocketError;

/// `ping`: `pong` at once.
pub(crate) fn ping(correlation_id: Option<&CorrelationId>) -> Dispatched {
    Dispatched::Done(Some(encode::reply("pong", None, correlation_id)))
}

#[derive(Deserialize)]
struct TopicData {
    topic: String,
}

/// The topic of a `subscribe`/`unsubscribe`, or the error to answer.
fn control_topic(message_type: &'static str, data: &RawValue) -> Result<String, SocketError> {
    let TopicData { topic } = decode_data::<TopicData>(message_type, data)?;
    validate_topic(&topic)
        .map_err(|reason| SocketError::from(PubSubError::InvalidTopic { topic: topic.clone(), reason }))?;
    if is_reserved_topic(&topic) {
        return Err(PubSubError::ReservedTopic(topic).into());
    }
    Ok(topic)
}

fn topic_ack(topic: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "topic": topic })).expect("a string always serializes")
}

/// `subscribe`: joins the topic once the authorizer allows it; acknowledged
/// once the subscription is live on every instance.
pub(crate) fn subscribe(
    endpoint: &Endpoint,
    socket: &Socket,
    data: &RawValue,
    correlation_id: Option<CorrelationId>,
) -> Dispatched {
    let topic = match control_topic("subscribe", data) {
        Ok(topic) => topic,
        Err(error) => return error_frame("subscribe", &error, correlation_id.as_ref()),
    };
    let socket = socket.clone();
    let authorizer = endpoint.authorizer.clone();
    let work = async move {
        if let Some(authorizer) = authorizer
            && !authorizer.authorize(socket.clone(), topic.clone()).await
        {
            return Reply::Error(PubSubError::Forbidden(topic).into());
        }
        match socket.subscribe(&topic).await {
            Ok(()) => Reply::Json(topic_ack(&topic)),
            Err(e) => Reply::Error(e.into()),
        }
    };
    let reply_to = ReplyTo { message_type: Cow::Borrowed("subscribe"), correlation_id };
    start(Ok(Ok(work.boxed())), reply_to, Span::none())
}

/// `unsubscribe`: leaves the topic (acknowledged whether or not the
/// connection was subscribed).
pub(crate) fn unsubscribe(
    socket: &Socket,
    data: &RawValue,
    correlation_id: Option<CorrelationId>,
) -> Dispatched {
    match control_topic("unsubscribe", data) {
        Ok(topic) => {
            socket.unsubscribe(&topic);
            let reply_to = ReplyTo { message_type: Cow::Borrowed("unsubscribe"), correlation_id };
            Dispatched::Done(reply_to.frame(Reply::Json(topic_ack(&topic))))
        }
        Err(error) => error_frame("unsubscribe", &error, correlation_id.as_ref()),
    }
}
