//! The publisher of a [`NatsBackend`](super::NatsBackend): hands queued
//! publishes to the client while it is connected (they wait in the queue,
//! trimmed to the outage buffer, while it is not), and waits for
//! JetStream's acknowledgements of the history and presence writes.
//!
//! A JetStream write whose acknowledgement does not come (refused: its
//! stream is gone, a server back without its storage; or the connection
//! was lost meanwhile) is written again once, after the stream is made
//! again. A history message carries a `Nats-Msg-Id`, so that a write that
//! did land before the connection was lost is not kept twice (the
//! server's duplicate window); a presence write twice is the same entry.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::publish::PublishAck;
use bytes::Bytes;

use super::{Pending, Shared, history, presence};
use crate::pubsub::Retention;

/// A JetStream write waiting for its acknowledgement.
enum Write {
    Kept { topic: String, packet: Bytes, retention: Retention, id: String },
    Presence { subject: String, meta: Bytes },
}

/// What the publisher knows exists: the history topics' streams, and the presence stream.
#[derive(Default)]
struct Made {
    streams: HashSet<String>,
    presence: bool,
}

/// Writes `write`, making its stream first if it is not known to exist;
/// the acknowledgement to wait for, or `None` if it could not be sent.
async fn send(shared: &Shared, made: &mut Made, write: &Write) -> Option<PublishAckFuture> {
    let js = shared.jetstream.get()?;
    match write {
        Write::Kept { topic, packet, retention, id } => {
            if !made.streams.contains(topic) {
                if let Err(error) = history::stream(shared, topic, *retention).await {
                    tracing::warn!(%error, topic, "cannot keep the history of a topic");
                    return None;
                }
                made.streams.insert(topic.clone());
            }
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", id.as_str());
            let subject = history::subject(&shared.config.prefix, topic);
            js.publish_with_headers(subject, headers, packet.clone()).await.ok()
        }
        Write::Presence { subject, meta } => {
            if !made.presence {
                if let Err(error) = presence::stream(shared).await {
                    tracing::warn!(%error, "cannot keep presence");
                    return None;
                }
                made.presence = true;
            }
            js.publish(subject.clone(), meta.clone()).await.ok()
        }
    }
}

/// Waits for `ack`, unless the connection is lost meanwhile (then the
/// acknowledgement cannot come: the write is sent again).
async fn acknowledged(shared: &Shared, ack: PublishAckFuture, generation: u64) -> Result<PublishAck, String> {
    let mut reconnected = shared.reconnected.subscribe();
    tokio::select! {
        ack = ack => ack.map_err(|error| error.to_string()),
        _ = reconnected.wait_for(|now| *now != generation) => {
            Err("the connection was lost before the acknowledgement".to_owned())
        }
    }
}

/// Publishes what is queued, in order, in batches.
pub(crate) async fn publish(shared: Arc<Shared>, client: async_nats::Client) {
    let mut made = Made::default();
    // History messages' `Nats-Msg-Id`: this instance's id and a count,
    // unique across instances without a random draw per message.
    let mut kept = 0u64;
    loop {
        if !shared.counters.is_connected() {
            shared.outgoing.trim_to_outage_buffer(shared.config.limits, &shared.counters, "NATS");
            shared.outgoing.ready().await;
            continue;
        }
        let batch = shared.outgoing.take(512);
        if batch.is_empty() {
            shared.outgoing.ready().await;
            continue;
        }
        let generation = *shared.reconnected.borrow();
        let mut acks = Vec::new();
        for pending in batch {
            let write = match pending {
                Pending::Core { subject, packet } => {
                    let sent = client.publish(subject, packet.into()).await.is_ok();
                    counted(&shared, sent);
                    continue;
                }
                Pending::Kept { topic, packet, retention } => {
                    kept += 1;
                    Write::Kept { topic, packet, retention, id: format!("{}-{kept}", shared.instance_hex) }
                }
                Pending::Presence { subject, meta } => Write::Presence { subject, meta },
            };
            let ack = send(&shared, &mut made, &write).await;
            counted(&shared, ack.is_some());
            if let Some(ack) = ack {
                acks.push((write, ack));
            }
        }
        // The acknowledgements, once the batch is written.
        for (write, ack) in acks {
            let acked = match acknowledged(&shared, ack, generation).await {
                Ok(ack) => Ok(ack),
                Err(_) => {
                    // Made again if it is gone; the same write once more.
                    match &write {
                        Write::Kept { topic, .. } => made.streams.remove(topic),
                        Write::Presence { .. } => std::mem::take(&mut made.presence),
                    };
                    let generation = *shared.reconnected.borrow();
                    match send(&shared, &mut made, &write).await {
                        Some(ack) => acknowledged(&shared, ack, generation).await,
                        None => Err("not sent".to_owned()),
                    }
                }
            };
            match (acked, write) {
                // A marker is purged once every follower had time to see it.
                (Ok(ack), Write::Presence { subject, meta }) if meta.is_empty() => {
                    shared.presence.marked(subject, ack.sequence);
                }
                (Ok(_), _) => {}
                (Err(error), Write::Kept { topic, .. }) => {
                    tracing::warn!(%error, topic, "JetStream did not keep a history message");
                    shared.dropped("JetStream refused a history message");
                }
                (Err(error), Write::Presence { .. }) => {
                    // The guard writes this instance's entries again after a reconnection.
                    tracing::warn!(%error, "JetStream did not keep a presence change");
                    shared.dropped("JetStream refused a presence change");
                }
            }
        }
        shared.outgoing.sent();
    }
}

/// Counts a publish handed to the client, or dropped.
fn counted(shared: &Shared, sent: bool) {
    if sent {
        shared.counters.published.fetch_add(1, Ordering::Relaxed);
    } else {
        shared.dropped("NATS refused the publish");
    }
}
