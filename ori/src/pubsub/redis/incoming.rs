//! What arrives on ori's Redis channels, on a single Redis or a cluster:
//! other instances' publishes, history and presence packets, direct sends,
//! commands, counts and answers.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{Shared, control};
use crate::connection::socket_id::SocketId;
use crate::protocol::Outbound;
use crate::pubsub::asking;
use crate::pubsub::packet::{self, Kind};
use crate::pubsub::{BackendContext, epoch_changed};
use crate::util::sync::lock;

/// Delivers what another instance published on `channel`, and answers
/// and records commands and counts.
pub(crate) fn dispatch(shared: &Arc<Shared>, context: &BackendContext, channel: &str, payload: &[u8]) {
    let direct = shared.names.is_direct(channel);
    let reply = channel == shared.reply_channel;
    let topic = if direct || reply { None } else { shared.names.topic_of(channel) };
    let received = || shared.counters.received.fetch_add(1, Ordering::Relaxed);
    match packet::decode(payload) {
        // A history topic's packet comes from the script, to every instance.
        Some(packet) if packet.kind == Kind::Kept => match (packet.position, topic) {
            (Some((epoch, offset)), Some(topic)) => {
                received();
                deliver_kept(shared, topic, &epoch, offset, &packet.message, packet.socket);
            }
            _ => junk(shared, channel),
        },
        Some(packet) if packet.kind == Kind::Presence => match (packet.position, topic) {
            (Some((_, version)), Some(topic)) => {
                received();
                shared.watchers.publish(topic, &packet.message.at_version(version), None);
            }
            _ => junk(shared, channel),
        },
        Some(packet) if packet.instance == shared.instance => {}
        Some(packet) => match (packet.kind, packet.socket, topic) {
            (Kind::Direct, Some(target), _) if direct => {
                received();
                context.deliver_to(target, &packet.message);
            }
            (Kind::Publish, exclude, Some(topic)) => {
                received();
                shared.topics.publish(topic, &packet.message, exclude);
            }
            (Kind::Command, _, _) if direct && control::on_command(shared, context, &packet) => {}
            (Kind::Count, _, _) if direct && control::on_count(shared, context, &packet) => {}
            (Kind::Answer, _, _) if reply && asking::on_answer(&shared.requests, &packet) => {}
            _ => junk(shared, channel),
        },
        None => junk(shared, channel),
    }
}

/// Delivers a history topic's message at its position; a message of a new
/// epoch is preceded by the epoch-change push (PROTOCOL.md).
fn deliver_kept(
    shared: &Shared,
    topic: &str,
    epoch: &str,
    offset: u64,
    message: &Outbound,
    exclude: Option<SocketId>,
) {
    let changed = {
        let mut epochs = lock(&shared.epochs);
        match epochs.get_mut(topic) {
            Some(known) if known != epoch => {
                *known = epoch.to_owned();
                true
            }
            Some(_) => false,
            None => {
                epochs.insert(topic.to_owned(), epoch.to_owned());
                false
            }
        }
    };
    if changed {
        shared.topics.publish(topic, &epoch_changed(topic, epoch), None);
    }
    match message.to_positionable() {
        Ok(message) => {
            shared.topics.publish(topic, &message.with_position(topic, offset), exclude);
        }
        Err(_) => junk(shared, topic),
    }
}

/// Counts (and now and then logs) a message on an ori channel that is not a valid ori packet.
fn junk(shared: &Shared, channel: &str) {
    shared.counters.junk(channel);
}
