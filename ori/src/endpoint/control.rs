//! The built-in control messages of PROTOCOL.md, answered by the server
//! itself on every envelope endpoint: `ping` (answered `pong`), `subscribe`
//! (with its history and presence options) and `unsubscribe`, and the
//! `presence` query; each names a topic that follows the name rules, is not
//! reserved, and, for `subscribe` and `presence`, that the topic authorizer
//! allows.

use std::borrow::Cow;

use bytes::Bytes;
use futures_util::FutureExt;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::endpoint::Endpoint;
use crate::endpoint::dispatch::{Dispatched, error_frame, start_control};
use crate::error::PubSubError;
use crate::handles::socket::Socket;
use crate::protocol::encode;
use crate::protocol::envelope::{CorrelationId, decode_data};
use crate::protocol::names::is_reserved_topic;
use crate::protocol::reply::{Reply, ReplyTo};
use crate::protocol::socket_error::SocketError;
use crate::pubsub::Position;
use crate::pubsub::presence::{MAX_STATE_KEYS, presence_state, state_data};
use crate::telemetry;
use crate::wire::frame::split_frame;

/// `ping`: `pong` at once.
pub(crate) fn ping(correlation_id: Option<&CorrelationId>) -> Dispatched {
    Dispatched::Done(Some(encode::reply("pong", None, correlation_id)))
}

#[derive(Deserialize)]
struct TopicData {
    topic: String,
}

/// The topic of an `unsubscribe` or a `presence`, or the error to answer.
fn control_topic(message_type: &'static str, data: &RawValue) -> Result<String, SocketError> {
    let TopicData { topic } = decode_data::<TopicData>(message_type, data)?;
    check_topic(&topic)?;
    Ok(topic)
}

/// A topic a client names: valid (`bad_request`), then not reserved (`forbidden`).
fn check_topic(topic: &str) -> Result<(), SocketError> {
    PubSubError::check_topic(topic)?;
    if is_reserved_topic(topic) {
        return Err(PubSubError::ReservedTopic(topic.to_owned()).into());
    }
    Ok(())
}

fn topic_ack(topic: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "topic": topic })).expect("a string always serializes")
}

/// A `subscribe`'s data: the topic and the options of PROTOCOL.md,
/// "History and recovery" (a `since` given must be a position; `null` is not).
#[derive(Deserialize)]
struct SubscribeData {
    topic: String,
    #[serde(default)]
    presence: bool,
    #[serde(default, deserialize_with = "present")]
    since: Option<Since>,
}

/// The last position a client saw.
#[derive(Deserialize)]
struct Since {
    epoch: String,
    offset: u64,
}

fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Since>, D::Error> {
    Since::deserialize(deserializer).map(Some)
}

/// The acknowledgement's data: the topic, where a history topic stands,
/// and whether the client recovered (when it asked to).
#[derive(Serialize)]
struct SubscribeAck<'a> {
    topic: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    epoch: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recovered: Option<bool>,
}

/// `subscribe`: joins the topic once the authorizer allows it; acknowledged
/// once the subscription is live on every instance. On a history topic, the
/// acknowledgement is queued on the connection before any message of the
/// subscription: the replay, then the live messages held meanwhile.
pub(crate) fn subscribe(
    endpoint: &Endpoint,
    socket: &Socket,
    data: &RawValue,
    correlation_id: Option<CorrelationId>,
) -> Dispatched {
    let reply_to = ReplyTo { message_type: Cow::Borrowed("subscribe"), correlation_id };
    let request = decode_data::<SubscribeData>("subscribe", data).and_then(|request| {
        check_topic(&request.topic)?;
        Ok(request)
    });
    let SubscribeData { topic, since, presence } = match request {
        Ok(request) => request,
        Err(error) => return Dispatched::Done(reply_to.frame(Reply::Error(error))),
    };
    let since = since.map(|Since { epoch, offset }| Position { epoch, offset });
    when_allowed(endpoint, socket, topic, reply_to, async move |socket, topic, replies| {
        let joined = match socket.join(&topic, since.as_ref(), presence).await {
            Ok(joined) => joined,
            Err(e) => return replies.frame(Reply::Error(e.into())),
        };
        let recovery = joined.recovery.as_ref();
        let ack = SubscribeAck {
            topic: &topic,
            epoch: recovery.map(|r| r.position.epoch.as_str()),
            offset: recovery.map(|r| r.position.offset),
            recovered: since.is_some().then(|| recovery.is_some_and(|r| r.recovered)),
        };
        let ack = serde_json::to_vec(&ack).expect("an acknowledgement always serializes");
        let ack = replies.frame(Reply::Json(ack));
        if joined.opening.is_none() && joined.watch.is_none() {
            return ack; // Nothing waits on it: a reply like any other (v1).
        }
        // Queued on the connection, so that it comes before what follows.
        let core = socket.core();
        let queue_ack = || {
            if let Some(ack) = ack {
                if let Some(telemetry) = telemetry::get() {
                    telemetry.replied(1, split_frame(&ack).2.len());
                }
                core.push(core.encoding().encode(ack));
            }
        };
        match joined.opening {
            Some(subscriber) => {
                let (after, replay) =
                    joined.recovery.map_or((0, Vec::new()), |r| (r.position.offset, r.replay));
                subscriber.open(after, || {
                    queue_ack();
                    for message in &replay {
                        if core.push_outbound(message)
                            && let Some(telemetry) = telemetry::get()
                        {
                            telemetry.sent_directly(message.payload().len());
                        }
                    }
                });
            }
            None => queue_ack(),
        }
        if let Some((watcher, read)) = joined.watch {
            watcher.open(read.version, || {
                core.push_outbound(&presence_state(&topic, &read, MAX_STATE_KEYS));
            });
        }
        None
    })
}

/// `presence`: the topic's members across every instance, for a topic the
/// authorizer allows (no subscription needed).
pub(crate) fn presence(
    endpoint: &Endpoint,
    socket: &Socket,
    data: &RawValue,
    correlation_id: Option<CorrelationId>,
) -> Dispatched {
    let reply_to = ReplyTo { message_type: Cow::Borrowed("presence"), correlation_id };
    let topic = match control_topic("presence", data) {
        Ok(topic) => topic,
        Err(error) => return Dispatched::Done(reply_to.frame(Reply::Error(error))),
    };
    when_allowed(endpoint, socket, topic, reply_to, async move |socket, topic, replies| {
        let reply = match socket.app().shared().pubsub.presence(&topic).await {
            Ok(read) => Reply::Json(state_data(&topic, &read.entries, MAX_STATE_KEYS).into_bytes()),
            Err(e) => Reply::Error(e.into()),
        };
        replies.frame(reply)
    })
}

/// Runs `work` once the topic authorizer (if any) allows `topic` to the
/// connection; a refusal is `forbidden`.
fn when_allowed<F>(
    endpoint: &Endpoint,
    socket: &Socket,
    topic: String,
    reply_to: ReplyTo,
    work: impl FnOnce(Socket, String, ReplyTo) -> F + Send + 'static,
) -> Dispatched
where
    F: Future<Output = Option<Bytes>> + Send + 'static,
{
    let (socket, authorizer, replies) = (socket.clone(), endpoint.authorizer.clone(), reply_to.clone());
    let checked = async move {
        if let Some(authorizer) = authorizer
            && !authorizer.authorize(socket.clone(), topic.clone()).await
        {
            return replies.frame(Reply::Error(PubSubError::Forbidden(topic).into()));
        }
        work(socket, topic, replies).await
    };
    start_control(checked.boxed(), reply_to)
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
