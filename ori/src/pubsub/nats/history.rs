//! History on NATS JetStream ([`Capability::History`](crate::pubsub::Capability::History)).
//!
//! - Each history topic is one stream, `<PREFIX>_h_<topic>` (dots as `~`:
//!   with a `%`, async-nats cannot read the stream's messages; a long topic
//!   is cut and given a hash after a `=`), on the subject
//!   `<prefix>.h.<topic>`, keeping `max_messages` = the retention's size and
//!   `max_age` = its time to live. A stream's sequence numbers count that
//!   topic alone, so they are the offsets: from 1, up by exactly 1. The
//!   stream's creation time is the epoch: a stream lost (a server without
//!   its storage) and made again is a new epoch.
//! - A publish is a JetStream publish of an ori publish packet (header,
//!   then the message); the stream's sequence is its offset.
//! - Every instance with local subscribers of a history topic reads the
//!   stream with an ordered consumer from its end, and delivers each
//!   message at its sequence: in offset order, the publisher's own
//!   subscribers included (core subscribers of the subject would see
//!   JetStream publishes without their sequence, and two publishers' acks
//!   can come back in either order).
//! - A read starts an ordered consumer at the first offset asked for and
//!   takes what was kept up to the stream's last sequence at that moment.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use async_nats::jetstream::{self, consumer, stream};
use futures_util::StreamExt;

use super::Shared;
use crate::connection::socket_id::SocketId;
use crate::error::PubSubError;
use crate::protocol::Outbound;
use crate::pubsub::epoch_changed;
use crate::pubsub::history::{HistoryRead, Position, Retention};
use crate::pubsub::packet::{self, Kind};
use crate::util::sync::lock;

/// Longest stream name ori makes (NATS allows 255; names are file names).
const MAX_NAME: usize = 200;

/// The subject of `topic`'s stream: `<prefix>.h.<topic with . as %>`.
pub(crate) fn subject(prefix: &str, topic: &str) -> String {
    let mut subject = format!("{prefix}.h.");
    super::subject::push_token(&mut subject, topic);
    subject
}

/// The name of `topic`'s stream: `<PREFIX>_h_<topic>` (dots as `~`, which
/// no topic has; a long one cut, with `=` and a hash of the whole).
pub(crate) fn stream_name(prefix: &str, topic: &str) -> String {
    let mut name: String = format!("{}_h_{topic}", prefix.to_ascii_uppercase())
        .chars()
        .map(|c| if c == '.' { '~' } else { c })
        .collect();
    if name.len() > MAX_NAME {
        let hash = topic
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        name.truncate(MAX_NAME - 17);
        name.push_str(&format!("={hash:016x}"));
    }
    name
}

/// The JetStream context, while connected (a request made while NATS is
/// down would wait out its timeout: it fails at once instead).
pub(crate) fn context(shared: &Shared) -> Result<&jetstream::Context, PubSubError> {
    let unreachable = || PubSubError::Backend("NATS is unreachable".to_owned());
    if !shared.counters.is_connected() {
        return Err(unreachable());
    }
    shared.jetstream.get().ok_or_else(unreachable)
}

/// `topic`'s stream (made with `retention` if it does not exist, or brought
/// to it if it changed), and its epoch.
pub(crate) async fn stream(
    shared: &Shared,
    topic: &str,
    retention: Retention,
) -> Result<(stream::Stream, String), PubSubError> {
    let js = context(shared)?;
    let prefix = &shared.config.prefix;
    let config = stream::Config {
        name: stream_name(prefix, topic),
        subjects: vec![subject(prefix, topic)],
        max_messages: retention.size() as i64,
        max_age: retention.ttl(),
        storage: stream::StorageType::File,
        ..stream::Config::default()
    };
    let failed = |e: &dyn std::fmt::Display| {
        PubSubError::Backend(format!(
            "JetStream refused the stream of `{topic}`: {e} (is the server started with `-js`?)"
        ))
    };
    let mut stream = js.get_or_create_stream(config.clone()).await.map_err(|e| failed(&e))?;
    let info = stream.info().await.map_err(|e| failed(&e))?;
    if info.config.max_messages != config.max_messages || info.config.max_age != config.max_age {
        js.update_stream(config).await.map_err(|e| failed(&e))?;
    }
    let epoch = info.created.unix_timestamp_nanos().to_string();
    Ok((stream, epoch))
}

/// Reads `topic`'s epoch, last offset and, when `since` is of this epoch,
/// what was kept after it and is younger than the time to live.
pub(crate) async fn read(
    shared: &Shared,
    topic: &str,
    since: Option<&Position>,
    retention: Retention,
) -> Result<HistoryRead, PubSubError> {
    let (mut stream, epoch) = stream(shared, topic, retention).await?;
    let state = stream.info().await.map_err(|e| PubSubError::Backend(e.to_string()))?.state.clone();
    let last = state.last_sequence;
    let position = Position { epoch: epoch.clone(), offset: last };
    let mut messages = Vec::new();
    let Some(since) = since.filter(|since| since.epoch == epoch && since.offset < last) else {
        return Ok(HistoryRead { position, messages });
    };
    let start = (since.offset + 1).max(state.first_sequence);
    if start > last {
        // Nothing kept after `since` any more (expired, or cut by the size).
        return Ok(HistoryRead { position, messages });
    }
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            deliver_policy: consumer::DeliverPolicy::ByStartSequence { start_sequence: start },
            ..Default::default()
        })
        .await
        .map_err(|e| PubSubError::Backend(format!("reading the history of `{topic}`: {e}")))?;
    let mut kept = consumer.messages().await.map_err(|e| PubSubError::Backend(e.to_string()))?;
    let oldest = SystemTime::now() - retention.ttl();
    // Messages can expire while they are read: what came in time is the
    // answer (the server then finds it short, and the client not recovered).
    let deadline = tokio::time::Instant::now() + shared.config.connect_timeout;
    while let Ok(Some(message)) = tokio::time::timeout_at(deadline, kept.next()).await {
        let message =
            message.map_err(|e| PubSubError::Backend(format!("reading the history of `{topic}`: {e}")))?;
        let Ok(info) = message.info() else { continue };
        let (offset, published) = (info.stream_sequence, info.published);
        if SystemTime::from(published) >= oldest {
            match positioned(topic, &message.payload, offset) {
                Some((message, _)) => messages.push(message),
                None => shared.junk(&message.subject),
            }
        }
        if offset >= last {
            break;
        }
    }
    Ok(HistoryRead { position, messages })
}

/// The message of a packet from `topic`'s stream, at `offset`, and the socket it skips.
fn positioned(topic: &str, payload: &[u8], offset: u64) -> Option<(Outbound, Option<SocketId>)> {
    let packet = packet::decode(payload).filter(|packet| packet.kind == Kind::Publish)?;
    let message = packet.message.to_positionable().ok()?.with_position(topic, offset);
    Some((message, packet.socket))
}

/// Delivers `topic`'s stream to the local subscribers from its end, in
/// offset order, until stopped; after the stream was lost and made again,
/// announces the new epoch first and starts from its beginning.
pub(crate) async fn follow(
    shared: Arc<Shared>,
    topic: String,
    retention: Retention,
    started: tokio::sync::oneshot::Sender<()>,
) {
    let mut started = Some(started);
    // When the first local subscriber came: if the stream cannot be read
    // then (NATS down), what is published from then on is delivered.
    let since = SystemTime::now();
    let mut known_epoch: Option<String> = None;
    // The last offset delivered here, to go on after it.
    let mut delivered: Option<u64> = None;
    let mut backoff =
        crate::util::backoff::Backoff::new(shared.config.backoff_min, shared.config.backoff_max);
    loop {
        let following = async {
            let (mut stream, epoch) = stream(&shared, &topic, retention).await?;
            let last =
                stream.info().await.map_err(|e| PubSubError::Backend(e.to_string()))?.state.last_sequence;
            let deliver_policy = match &known_epoch {
                // The same stream: go on after what was delivered.
                Some(known) if *known == epoch => match delivered {
                    Some(offset) => consumer::DeliverPolicy::ByStartSequence { start_sequence: offset + 1 },
                    None => consumer::DeliverPolicy::ByStartSequence { start_sequence: last + 1 },
                },
                Some(_) => {
                    shared.topics.publish(&topic, &epoch_changed(&topic, &epoch), None);
                    consumer::DeliverPolicy::All
                }
                // First, on time: from the end (a subscriber reads what came before).
                None if started.is_some() => {
                    consumer::DeliverPolicy::ByStartSequence { start_sequence: last + 1 }
                }
                // First, late (NATS was down): what was published since the first subscriber came.
                None => consumer::DeliverPolicy::ByStartTime { start_time: since.into() },
            };
            known_epoch = Some(epoch);
            let consumer = stream
                .create_consumer(consumer::pull::OrderedConfig { deliver_policy, ..Default::default() })
                .await
                .map_err(|e| PubSubError::Backend(e.to_string()))?;
            let messages = consumer.messages().await.map_err(|e| PubSubError::Backend(e.to_string()))?;
            Ok::<_, PubSubError>(messages)
        };
        let mut messages = match following.await {
            Ok(messages) => messages,
            Err(error) => {
                tracing::debug!(%error, topic, "cannot follow a history topic's stream yet");
                if let Some(started) = started.take() {
                    let _ = started.send(());
                }
                tokio::time::sleep(backoff.next_delay()).await;
                continue;
            }
        };
        if let Some(started) = started.take() {
            let _ = started.send(());
        }
        let mut reconnected = shared.reconnected.subscribe();
        loop {
            let message = tokio::select! {
                message = messages.next() => message,
                _ = reconnected.changed() => {
                    // Still the same stream? Else start over, announcing the new epoch.
                    match stream(&shared, &topic, retention).await {
                        Ok((_, epoch)) if known_epoch.as_deref() == Some(epoch.as_str()) => continue,
                        _ => break,
                    }
                }
            };
            let Some(Ok(message)) = message else { break };
            let Ok(info) = message.info() else { continue };
            let offset = info.stream_sequence;
            delivered = Some(offset);
            backoff =
                crate::util::backoff::Backoff::new(shared.config.backoff_min, shared.config.backoff_max);
            match positioned(&topic, &message.payload, offset) {
                Some((positioned, exclude)) => {
                    shared.counters.received.fetch_add(1, Ordering::Relaxed);
                    shared.topics.publish(&topic, &positioned, exclude);
                }
                None => shared.junk(&message.subject),
            }
        }
        // The stream ended (deleted, or the connection went): follow it again.
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

/// Starts following `topic`'s stream if it keeps history and is not followed yet; resolves once it is.
pub(crate) async fn follow_if_kept(shared: &Arc<Shared>, topic: &str, retention: Option<Retention>) {
    let Some(retention) = retention else { return };
    let (started, running) = tokio::sync::oneshot::channel();
    {
        let mut followers = lock(&shared.followers);
        if followers.contains_key(topic) {
            return;
        }
        let task = tokio::spawn(follow(shared.clone(), topic.to_owned(), retention, started));
        followers.insert(topic.to_owned(), task);
    }
    let _ = tokio::time::timeout(shared.config.connect_timeout, running).await;
}

/// Stops following `topic`'s stream (its last local subscriber left).
pub(crate) fn unfollow(shared: &Shared, topic: &str) {
    if let Some(task) = lock(&shared.followers).remove(topic) {
        task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_named_without_dots_and_within_bounds() {
        assert_eq!(subject("ori", "room.1"), "ori.h.room%1");
        assert_eq!(stream_name("app.ori", "room.1"), "APP~ORI_h_room~1");
        let long = "a".repeat(256);
        let name = stream_name("ori", &long);
        assert!(name.len() <= MAX_NAME && !name.contains('.'), "{name}");
        assert_ne!(name, stream_name("ori", &format!("{}b", "a".repeat(255))));
    }
}
