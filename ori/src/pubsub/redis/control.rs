//! Remote control over Redis ([`Capability::RemoteControl`](crate::pubsub::Capability::RemoteControl)):
//! a command for a socket, or a count, is asked of every instance at once
//! on a direct channel (the socket's, on a cluster), whose `PUBLISH` reply
//! says how many instances listen; each answers on the asker's own reply channel
//! (`<prefix>#reply:<instance>`); the packets and the bookkeeping are
//! `pubsub/asking.rs`. The asker waits at most the control timeout. One
//! request costs one `PUBLISH` and one small answer per instance, whatever
//! the id: an unknown socket starts no storm.

use std::sync::Arc;

use super::{Pending, Shared};
use crate::error::PubSubError;
use crate::pubsub::BackendContext;
use crate::pubsub::asking::{self, Ask, Gathered};
use crate::pubsub::packet::Packet;

/// Asks every other instance: a command (`Ok(true)` done where the socket
/// is, `Ok(false)` held nowhere) or a count (the sum).
pub(crate) async fn ask(shared: &Shared, ask: Ask<'_>) -> Result<Gathered, PubSubError> {
    // On a cluster, a command travels on its socket's direct channel (any reaches every instance).
    let channel = shared.names.direct(match &ask {
        Ask::Command(socket, _) => Some(*socket),
        Ask::Count(_) => None,
    });
    let Some(mut connection) = shared.connection_for(channel) else {
        return Err(PubSubError::Backend(
            "Redis is unreachable: the other instances cannot be asked".to_owned(),
        ));
    };
    let publish = |packet: Vec<u8>| async move {
        let listeners: usize = redis::cmd(shared.names.publish_command())
            .arg(channel)
            .arg(packet)
            .query_async(&mut connection)
            .await
            .map_err(|error| PubSubError::Backend(format!("Redis refused the request: {error}")))?;
        // This instance listens on the direct channel too, and does not answer itself.
        Ok(listeners.saturating_sub(1))
    };
    shared.requests.ask(&shared.instance, ask, shared.config.control_timeout, publish).await
}

/// Answers a command another instance asked (run here if the socket is).
pub(crate) fn on_command(shared: &Arc<Shared>, context: &BackendContext, packet: &Packet) -> bool {
    let (reply_to, sender) = (shared.reply_channel_of(&packet.instance), shared.clone());
    asking::on_command(shared.instance, context, packet, move |answer| {
        sender.enqueue(Pending::Publish { channel: Some(reply_to), packet: answer });
    })
}

/// Answers a count another instance asked.
pub(crate) fn on_count(shared: &Shared, context: &BackendContext, packet: &Packet) -> bool {
    let Some(answer) = asking::on_count(&shared.instance, context, packet) else { return false };
    shared.enqueue(Pending::Publish {
        channel: Some(shared.reply_channel_of(&packet.instance)),
        packet: answer,
    });
    true
}
