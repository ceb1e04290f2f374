//! Presence on NATS JetStream ([`Capability::Presence`](crate::pubsub::Capability::Presence)).
//!
//! - Every entry is the last message of its own subject in one stream,
//!   `<PREFIX>_presence` (one message kept per subject):
//!   `<prefix>.p.<topic>.<instance>.<socket>.<key in hex>` (the topic's dots
//!   as `%`), whose payload is the meta. An empty payload is a marker: the
//!   entry was untracked (or reaped). The stream's sequence numbers are the
//!   versions: they rise with every change, on every topic.
//! - Every instance with local watchers of a topic follows it (a
//!   [`Follower`]): an ordered consumer on `<prefix>.p.<topic>.>` first
//!   reads the last message of each subject (the state), then every change,
//!   and turns each into the `presence_diff` of what really changed, sent
//!   to the local watchers in stream order. A change and its delivery
//!   happen under the follower's lock, so a read sees exactly the changes
//!   before its version.
//! - Liveness is the instances' membership (`control.rs`): every instance
//!   beats at least four times per presence expiry, and each one that
//!   follows a topic removes the entries of an instance silent for three
//!   quarters of the expiry (writing their markers; two instances doing it
//!   at once still send each leave once, since a follower sends a leave only
//!   for an entry it has).
//! - Each instance watches its own entries ([`guard`]): after a
//!   (re)connection it makes the stream hold exactly its entries, and when
//!   one of them is removed by another instance (it was silent: a pause, a
//!   split) while it still holds it, it writes it again, so its members
//!   join again.
//! - Markers are purged by whoever wrote them once the expiry has passed,
//!   and by any follower that finds one older than twice that, so the
//!   stream holds the present entries, not every connection ever tracked.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use async_nats::jetstream::{consumer, stream};
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::value::RawValue;

use super::{Pending, Shared, history, subject};
use crate::connection::socket_id::SocketId;
use crate::error::PubSubError;
use crate::pubsub::presence::{MAX_STATE_KEYS, PresenceEntry, PresenceRead, presence_diff, presence_state};
use crate::util::sync::lock;

/// The name of the presence stream: `<PREFIX>_presence` (dots as `~`).
pub(crate) fn stream_name(prefix: &str) -> String {
    format!("{}_presence", prefix.to_ascii_uppercase()).replace('.', "~")
}

/// The subject of an entry: `<prefix>.p.<topic>.<instance>.<socket>.<key hex>`.
pub(crate) fn entry_subject(
    prefix: &str,
    topic: &str,
    instance: &str,
    socket: SocketId,
    key: &str,
) -> String {
    format!(
        "{}.{instance}.{socket}.{}",
        topic_filter_base(prefix, topic),
        crate::util::random::hex(key.as_bytes())
    )
}

/// `<prefix>.p.<topic>`: the entries of `topic` are under it.
fn topic_filter_base(prefix: &str, topic: &str) -> String {
    let mut base = format!("{prefix}.p.");
    subject::push_token(&mut base, topic);
    base
}

/// An entry's subject, read: its instance (hex), socket and member key.
fn parse(subject: &str) -> Option<(&str, SocketId, String)> {
    let mut tokens = subject.rsplitn(4, '.');
    let (key, socket, instance) = (tokens.next()?, tokens.next()?, tokens.next()?);
    let key = String::from_utf8(crate::util::random::unhex(key)?).ok()?;
    Some((instance, socket.parse().ok()?, key))
}

/// What an instance keeps for presence.
#[derive(Default)]
pub(crate) struct Presence {
    /// The topics with local watchers, each followed.
    followers: std::sync::Mutex<HashMap<String, Arc<Follower>>>,
    /// This instance's entries: subject -> meta.
    local: std::sync::Mutex<HashMap<String, Bytes>>,
    /// The markers this instance wrote (subject, sequence, when), purged
    /// once the expiry has passed.
    markers: std::sync::Mutex<VecDeque<(String, u64, Instant)>>,
    /// Since when the connection holds (the reaper waits a while after it:
    /// it must have heard the others first).
    connected_since: std::sync::Mutex<Option<Instant>>,
}

/// One followed topic: its state as the stream says, and its readiness.
pub(crate) struct Follower {
    state: std::sync::Mutex<TopicState>,
    ready: tokio::sync::watch::Sender<bool>,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

#[derive(Default)]
struct TopicState {
    /// The stream's creation time: another one means the stream was lost.
    epoch: Option<String>,
    version: u64,
    /// Subject -> the entry there.
    entries: HashMap<String, Held>,
}

/// An entry as a follower holds it, its subject read once.
struct Held {
    sequence: u64,
    /// The instance that tracked it (what the reaper asks about).
    instance: [u8; 16],
    entry: PresenceEntry,
}

impl TopicState {
    fn read(&self) -> PresenceRead {
        let mut held: Vec<&Held> = self.entries.values().collect();
        held.sort_by_key(|held| held.sequence);
        PresenceRead { version: self.version, entries: held.into_iter().map(|h| h.entry.clone()).collect() }
    }
}

/// Whether `instance` is another one, not heard from for `silent`.
fn gone(shared: &Shared, instance: &[u8; 16], silent: Duration) -> bool {
    *instance != shared.instance && !shared.members.heard_within(instance, silent)
}

impl Presence {
    pub(crate) fn connected(&self, connected: bool) {
        *lock(&self.connected_since) = connected.then(Instant::now);
    }

    /// Whether the connection has held for `silent` at least: long enough to
    /// have heard every live instance, so that one not heard is gone.
    fn settled(&self, silent: Duration) -> bool {
        lock(&self.connected_since).is_some_and(|since| since.elapsed() >= silent)
    }

    /// Records `meta` as this instance's entry at `subject`; whether it changed.
    pub(crate) fn track(&self, subject: &str, meta: Bytes) -> bool {
        let mut local = lock(&self.local);
        if local.get(subject) == Some(&meta) {
            return false;
        }
        local.insert(subject.to_owned(), meta);
        true
    }

    /// Forgets this instance's entry at `subject`; whether it had it.
    pub(crate) fn untrack(&self, subject: &str) -> bool {
        lock(&self.local).remove(subject).is_some()
    }

    /// A marker this instance wrote, to purge later.
    pub(crate) fn marked(&self, subject: String, sequence: u64) {
        lock(&self.markers).push_back((subject, sequence, Instant::now()));
    }

    /// The follower of `topic`, if it has local watchers.
    fn follower(&self, topic: &str) -> Option<Arc<Follower>> {
        lock(&self.followers).get(topic).cloned()
    }
}

/// The presence stream (made if it does not exist), and its epoch.
pub(crate) async fn stream(shared: &Shared) -> Result<(stream::Stream, String), PubSubError> {
    let js = history::context(shared)?;
    let prefix = &shared.config.prefix;
    let config = stream::Config {
        name: stream_name(prefix),
        subjects: vec![format!("{prefix}.p.>")],
        max_messages_per_subject: 1,
        storage: stream::StorageType::File,
        ..stream::Config::default()
    };
    let failed = |e: &dyn std::fmt::Display| {
        PubSubError::Backend(format!(
            "JetStream refused the presence stream: {e} (is the server started with `-js`?)"
        ))
    };
    let mut stream = js.get_or_create_stream(config).await.map_err(|e| failed(&e))?;
    let created = stream.info().await.map_err(|e| failed(&e))?.created;
    Ok((stream, created.unix_timestamp_nanos().to_string()))
}

/// What a consumer found on a filter before it went live.
struct Snapshot {
    epoch: String,
    /// At least the sequence of every message it holds, and below every later one.
    version: u64,
    /// Subject -> (sequence, meta) of the entries (markers left out).
    entries: HashMap<String, (u64, Bytes)>,
}

type Changes = consumer::pull::Ordered;

/// Reads the last message of every subject under `filter` (the state),
/// and returns it with the consumer, which goes on with every later change.
async fn open(shared: &Shared, filter: String) -> Result<(Snapshot, Changes), PubSubError> {
    let failed = |e: &dyn std::fmt::Display| PubSubError::Backend(format!("reading presence: {e}"));
    let (mut stream, epoch) = stream(shared).await?;
    let last = stream.info().await.map_err(|e| failed(&e))?.state.last_sequence;
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: filter,
            deliver_policy: consumer::DeliverPolicy::LastPerSubject,
            ..Default::default()
        })
        .await
        .map_err(|e| failed(&e))?;
    let mut pending = consumer.cached_info().num_pending;
    let mut changes = consumer.messages().await.map_err(|e| failed(&e))?;
    let mut snapshot = Snapshot { epoch, version: last, entries: HashMap::new() };
    let stale = SystemTime::now() - shared.config.presence_expiry * 2;
    let deadline = tokio::time::Instant::now() + shared.config.connect_timeout;
    while pending > 0 {
        let message = match tokio::time::timeout_at(deadline, changes.next()).await {
            Ok(Some(Ok(message))) => message,
            Ok(Some(Err(e))) => return Err(failed(&e)),
            Ok(None) | Err(_) => return Err(failed(&"the server did not send the state in time")),
        };
        let Ok(info) = message.info() else { continue };
        let (sequence, published) = (info.stream_sequence, SystemTime::from(info.published));
        pending = info.pending;
        snapshot.version = snapshot.version.max(sequence);
        if message.payload.is_empty() {
            if published < stale {
                // A marker whose writer did not purge it (it died): purged here.
                let _ = stream.purge().filter(message.subject.as_str()).sequence(sequence + 1).await;
            }
            continue;
        }
        snapshot.entries.insert(message.subject.to_string(), (sequence, message.payload.clone()));
    }
    Ok((snapshot, changes))
}

/// A stream message as an entry and its instance: `None` for a marker, `Err` for junk.
fn entry_of(subject: &str, payload: &Bytes) -> Result<Option<([u8; 16], PresenceEntry)>, ()> {
    let (instance, socket, key) = parse(subject).ok_or(())?;
    let instance: [u8; 16] =
        crate::util::random::unhex(instance).and_then(|id| id.try_into().ok()).ok_or(())?;
    if payload.is_empty() {
        return Ok(None);
    }
    let meta = std::str::from_utf8(payload).map_err(|_| ())?;
    let meta = RawValue::from_string(meta.to_owned()).map_err(|_| ())?;
    Ok(Some((instance, PresenceEntry { key, socket, meta })))
}

impl Follower {
    /// Applies one change at `sequence` and sends the watchers its diff,
    /// if it changed anything; `false` for a message that is not an entry.
    fn apply(&self, shared: &Shared, topic: &str, subject: &str, sequence: u64, payload: &Bytes) -> bool {
        let Ok(entry) = entry_of(subject, payload) else { return false };
        let mut state = lock(&self.state);
        if sequence <= state.version {
            return true; // in the state already
        }
        state.version = sequence;
        let diff = match entry {
            None => match state.entries.remove(subject) {
                Some(Held { entry: left, .. }) => {
                    presence_diff(topic, sequence, &[], &[(&left.key, &left.meta)])
                }
                None => return true,
            },
            Some((instance, entry)) => {
                let held = Held { sequence, instance, entry: entry.clone() };
                match state.entries.insert(subject.to_owned(), held) {
                    Some(Held { entry: old, .. }) if old.meta.get() == entry.meta.get() => return true,
                    Some(Held { entry: old, .. }) => {
                        presence_diff(topic, sequence, &[(&entry.key, &entry.meta)], &[(&old.key, &old.meta)])
                    }
                    None => presence_diff(topic, sequence, &[(&entry.key, &entry.meta)], &[]),
                }
            }
        };
        shared.watchers.publish(topic, &diff, None);
        true
    }

    /// Replaces the state with `snapshot`: the watchers get the diff between
    /// them, or, if the stream is another one (it was lost), a new state.
    fn reset(&self, shared: &Shared, topic: &str, snapshot: Snapshot) {
        let mut entries = HashMap::with_capacity(snapshot.entries.len());
        for (subject, (sequence, payload)) in snapshot.entries {
            match entry_of(&subject, &payload) {
                Ok(Some((instance, entry))) => {
                    entries.insert(subject, Held { sequence, instance, entry });
                }
                _ => shared.junk(&subject),
            }
        }
        let mut state = lock(&self.state);
        let known = state.epoch.replace(snapshot.epoch.clone());
        let old = std::mem::replace(&mut state.entries, entries);
        state.version = snapshot.version;
        match known {
            None => {}
            Some(known) if known != snapshot.epoch => {
                tracing::warn!(
                    topic,
                    "the presence stream was lost (NATS without its storage?); sending watchers a new state"
                );
                let fresh = presence_state(topic, &state.read(), MAX_STATE_KEYS);
                shared.watchers.publish(topic, &fresh, None);
            }
            Some(_) => {
                let leaves: Vec<(&str, &RawValue)> = old
                    .iter()
                    .filter(|(subject, o)| state.entries.get(*subject).is_none_or(|n| n.entry != o.entry))
                    .map(|(_, o)| (o.entry.key.as_str(), &*o.entry.meta))
                    .collect();
                let joins: Vec<(&str, &RawValue)> = state
                    .entries
                    .iter()
                    .filter(|(subject, n)| old.get(*subject).is_none_or(|o| o.entry != n.entry))
                    .map(|(_, n)| (n.entry.key.as_str(), &*n.entry.meta))
                    .collect();
                if !joins.is_empty() || !leaves.is_empty() {
                    let diff = presence_diff(topic, state.version, &joins, &leaves);
                    shared.watchers.publish(topic, &diff, None);
                }
            }
        }
    }
}

/// Reads what `filter` holds (the last message of each subject), then
/// every change, until the task is stopped; again from a new state after
/// each reconnection (or when the consumer ends), with backoff while NATS
/// cannot answer. `what` names it in the logs.
async fn read_and_follow(
    shared: &Shared,
    filter: String,
    what: &str,
    mut on_state: impl FnMut(Snapshot),
    mut on_change: impl FnMut(async_nats::jetstream::Message),
) {
    let backoff = || crate::util::backoff::Backoff::new(shared.config.backoff_min, shared.config.backoff_max);
    let mut waits = backoff();
    loop {
        let mut reconnected = shared.reconnected.subscribe();
        let mut changes = match open(shared, filter.clone()).await {
            Ok((snapshot, changes)) => {
                on_state(snapshot);
                changes
            }
            Err(error) => {
                tracing::debug!(%error, what, "cannot read presence yet");
                tokio::time::sleep(waits.next_delay()).await;
                continue;
            }
        };
        waits = backoff();
        loop {
            let message = tokio::select! {
                message = changes.next() => message,
                _ = reconnected.changed() => break,
            };
            let Some(Ok(message)) = message else { break };
            on_change(message);
        }
        tokio::time::sleep(waits.next_delay()).await;
    }
}

/// Follows `topic` while it has local watchers: its state, then every
/// change; again from a new state after each reconnection.
async fn follow(shared: Arc<Shared>, topic: String, follower: Arc<Follower>) {
    let filter = format!("{}.>", topic_filter_base(&shared.config.prefix, &topic));
    let on_state = |snapshot| {
        follower.reset(&shared, &topic, snapshot);
        follower.ready.send_replace(true);
    };
    let on_change = |message: async_nats::jetstream::Message| {
        let Ok(info) = message.info() else { return };
        let sequence = info.stream_sequence;
        if !follower.apply(&shared, &topic, message.subject.as_str(), sequence, &message.payload) {
            shared.junk(message.subject.as_str());
        }
    };
    read_and_follow(&shared, filter, &topic, on_state, on_change).await;
}

/// Starts following `topic` (its first local watcher came).
pub(crate) fn start_following(shared: &Arc<Shared>, topic: &str) {
    let follower = Arc::new(Follower {
        state: std::sync::Mutex::default(),
        ready: tokio::sync::watch::Sender::new(false),
        task: std::sync::Mutex::default(),
    });
    let task = tokio::spawn(follow(shared.clone(), topic.to_owned(), follower.clone()));
    *lock(&follower.task) = Some(task);
    if let Some(previous) = lock(&shared.presence.followers).insert(topic.to_owned(), follower) {
        stop(&previous);
    }
}

/// Stops following `topic` (its last local watcher left).
pub(crate) fn stop_following(shared: &Shared, topic: &str) {
    if let Some(follower) = lock(&shared.presence.followers).remove(topic) {
        stop(&follower);
    }
}

fn stop(follower: &Follower) {
    if let Some(task) = lock(&follower.task).take() {
        task.abort();
    }
}

/// `topic`'s entries and version: the follower's, once it has read the
/// state, or else read now.
pub(crate) async fn read(shared: &Shared, topic: &str) -> Result<PresenceRead, PubSubError> {
    if let Some(follower) = shared.presence.follower(topic) {
        let mut ready = follower.ready.subscribe();
        let timeout = shared.config.connect_timeout;
        return match tokio::time::timeout(timeout, ready.wait_for(|ready| *ready)).await {
            Ok(Ok(_)) => Ok(lock(&follower.state).read()),
            _ => Err(PubSubError::Backend(format!("NATS did not send the presence of `{topic}` in time"))),
        };
    }
    let filter = format!("{}.>", topic_filter_base(&shared.config.prefix, topic));
    let (snapshot, _) = open(shared, filter).await?;
    // Nobody follows this topic here, so nobody here reaps it: the entries
    // of instances known to be gone are left out.
    let silent = shared.config.presence_expiry * 3 / 4;
    let settled = shared.presence.settled(silent);
    let mut entries: Vec<(u64, PresenceEntry)> = snapshot
        .entries
        .iter()
        .filter_map(|(subject, (sequence, payload))| match entry_of(subject, payload) {
            Ok(Some((instance, entry))) => {
                (!(settled && gone(shared, &instance, silent))).then_some((*sequence, entry))
            }
            _ => None,
        })
        .collect();
    entries.sort_by_key(|(sequence, _)| *sequence);
    Ok(PresenceRead { version: snapshot.version, entries: entries.into_iter().map(|(_, e)| e).collect() })
}

/// Keeps this instance's entries true in the stream: after each
/// (re)connection, writes what is missing or different and removes what it
/// no longer holds; then writes again any entry of its own that another
/// instance removed while it still holds it.
pub(crate) async fn guard(shared: Arc<Shared>) {
    let filter = format!("{}.p.*.{}.*.*", shared.config.prefix, shared.instance_hex);
    let on_change = |message: async_nats::jetstream::Message| {
        if !message.payload.is_empty() {
            return;
        }
        let held = lock(&shared.presence.local).get(message.subject.as_str()).cloned();
        if let Some(meta) = held {
            tracing::warn!(
                "this instance's presence was removed by another (it was silent too long); tracking it again"
            );
            shared.enqueue_pending(Pending::Presence { subject: message.subject.to_string(), meta });
        }
    };
    read_and_follow(
        &shared,
        filter,
        "this instance's entries",
        |snapshot| reconcile(&shared, &snapshot),
        on_change,
    )
    .await;
}

/// Makes the stream hold exactly this instance's entries.
fn reconcile(shared: &Shared, snapshot: &Snapshot) {
    let local = lock(&shared.presence.local).clone();
    for (subject, meta) in &local {
        if snapshot.entries.get(subject).is_none_or(|(_, kept)| kept != meta) {
            shared.enqueue_pending(Pending::Presence { subject: subject.clone(), meta: meta.clone() });
        }
    }
    for subject in snapshot.entries.keys().filter(|subject| !local.contains_key(*subject)) {
        shared.enqueue_pending(Pending::Presence { subject: subject.clone(), meta: Bytes::new() });
    }
}

/// Every quarter of the expiry: removes the entries of instances silent for
/// three quarters of it from the followed topics, and purges the markers
/// this instance wrote that are older than the expiry.
pub(crate) async fn maintain(shared: Arc<Shared>) {
    let expiry = shared.config.presence_expiry;
    loop {
        tokio::time::sleep(expiry / 4).await;
        if !shared.counters.is_connected() {
            continue;
        }
        if shared.presence.settled(expiry * 3 / 4) {
            reap(&shared, expiry * 3 / 4);
        }
        purge_markers(&shared, expiry).await;
    }
}

/// Writes the markers of the entries of instances not heard for `silent`.
fn reap(shared: &Shared, silent: Duration) {
    let followers: Vec<Arc<Follower>> = lock(&shared.presence.followers).values().cloned().collect();
    let mut reaped = 0usize;
    for follower in followers {
        let state = lock(&follower.state);
        for (subject, held) in &state.entries {
            if gone(shared, &held.instance, silent) {
                shared.enqueue_pending(Pending::Presence { subject: subject.clone(), meta: Bytes::new() });
                reaped += 1;
            }
        }
    }
    if reaped > 0 {
        tracing::warn!(reaped, "removed the presence of instances that stopped answering");
    }
}

/// Purges the markers this instance wrote more than `age` ago.
async fn purge_markers(shared: &Shared, age: Duration) {
    let due: Vec<(String, u64)> = {
        let mut markers = lock(&shared.presence.markers);
        let mut due = Vec::new();
        while markers.front().is_some_and(|(_, _, at)| at.elapsed() >= age) {
            let (subject, sequence, _) = markers.pop_front().expect("checked");
            due.push((subject, sequence));
        }
        due
    };
    if due.is_empty() {
        return;
    }
    let Ok((stream, _)) = stream(shared).await else { return };
    for (subject, sequence) in due {
        // Only up to the marker: an entry written again since stays.
        let _ = stream.purge().filter(subject).sequence(sequence + 1).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_subject_names_topic_instance_socket_and_key() {
        let socket = SocketId::new();
        let subject = entry_subject("app.ori", "room.1", "ab12", socket, "alice.b c");
        assert!(subject.starts_with("app.ori.p.room%1.ab12."), "{subject}");
        assert_eq!(parse(&subject), Some(("ab12", socket, "alice.b c".to_owned())));
        assert_eq!(parse("ori.p.t.x.not-a-socket.61"), None);
        assert_eq!(parse(&format!("ori.p.t.x.{socket}.6")), None, "odd hex");
        assert_eq!(stream_name("app.ori"), "APP~ORI_presence");
    }
}
