//! [`MemoryHistory`]: each history topic's recent messages in a bounded
//! ring, in this process (the [`InProcess`](crate::pubsub::InProcess)
//! backend's history).

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use foldhash::fast::RandomState;

use crate::protocol::Outbound;
use crate::pubsub::history::{HistoryRead, Position, Retention};
use crate::util::random::random_token;
use crate::util::sync::{lock, read, write};

const SHARDS: usize = 16;
/// How often streams that are empty and unwatched are forgotten.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

type Shard = HashMap<Arc<str>, Arc<Mutex<Stream>>, RandomState>;

/// One topic's history: its epoch, its last offset, its kept messages.
#[derive(Debug)]
struct Stream {
    epoch: String,
    last: u64,
    kept: VecDeque<(Instant, Outbound)>,
    /// The retention it was last used with (the sweeper expires by it).
    ttl: Duration,
    /// Forgotten by the sweeper: whoever holds it looks the topic up again.
    retired: bool,
}

impl Stream {
    fn new(ttl: Duration) -> Stream {
        Stream { epoch: random_token(), last: 0, kept: VecDeque::new(), ttl, retired: false }
    }

    fn expire(&mut self, now: Instant) {
        while self.kept.front().is_some_and(|(at, _)| now.duration_since(*at) >= self.ttl) {
            self.kept.pop_front();
        }
    }
}

/// Every history topic's stream, sharded by topic. A stream lives while it
/// keeps a message or the topic has a subscriber; one forgotten starts again
/// in a new epoch.
#[derive(Debug)]
pub(crate) struct MemoryHistory {
    shards: Box<[RwLock<Shard>]>,
    hasher: RandomState,
    last_sweep: Mutex<Instant>,
}

impl Default for MemoryHistory {
    fn default() -> Self {
        MemoryHistory {
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
            hasher: RandomState::default(),
            last_sweep: Mutex::new(Instant::now()),
        }
    }
}

impl MemoryHistory {
    fn shard(&self, topic: &str) -> &RwLock<Shard> {
        &self.shards[(self.hasher.hash_one(topic) >> 32) as usize % SHARDS]
    }

    /// Runs `with` on the topic's live stream (made if there is none).
    fn with_stream<R>(&self, topic: &str, retention: Retention, with: impl FnOnce(&mut Stream) -> R) -> R {
        let mut with = Some(with);
        loop {
            let existing = read(self.shard(topic)).get(topic).cloned();
            let stream = existing.unwrap_or_else(|| {
                let mut shard = write(self.shard(topic));
                shard
                    .entry(Arc::from(topic))
                    .or_insert_with(|| Arc::new(Mutex::new(Stream::new(retention.ttl()))))
                    .clone()
            });
            let mut stream = lock(&stream);
            if stream.retired {
                continue;
            }
            stream.ttl = retention.ttl();
            stream.expire(Instant::now());
            return (with.take().expect("called once"))(&mut stream);
        }
    }

    /// Gives `message` the topic's next offset, keeps it, and calls
    /// `deliver` with it positioned while no other message of the topic can
    /// be appended: deliveries happen in offset order.
    pub(crate) fn append<R>(
        &self,
        topic: &str,
        message: &Outbound,
        retention: Retention,
        deliver: impl FnOnce(&Outbound) -> R,
    ) -> R {
        self.with_stream(topic, retention, |stream| {
            stream.last += 1;
            let positioned = message.with_position(topic, stream.last);
            if stream.kept.len() >= retention.size() {
                stream.kept.pop_front();
            }
            stream.kept.push_back((Instant::now(), positioned.clone()));
            deliver(&positioned)
        })
    }

    /// The topic's position, and its kept messages after `since` when
    /// `since` is of this epoch.
    pub(crate) fn read(&self, topic: &str, since: Option<&Position>, retention: Retention) -> HistoryRead {
        self.with_stream(topic, retention, |stream| {
            let messages = match since {
                Some(since) if since.epoch == stream.epoch => stream
                    .kept
                    .iter()
                    .map(|(_, m)| m)
                    .filter(|m| m.offset().is_some_and(|o| o > since.offset))
                    .cloned()
                    .collect(),
                _ => Vec::new(),
            };
            HistoryRead { position: Position { epoch: stream.epoch.clone(), offset: stream.last }, messages }
        })
    }

    /// At most once per second: expires old messages everywhere and forgets
    /// the streams left empty whose topic nobody `watches`.
    pub(crate) fn sweep_if_due(&self, watched: impl Fn(&str) -> bool) {
        let now = Instant::now();
        {
            let Ok(mut last) = self.last_sweep.try_lock() else { return };
            if now.duration_since(*last) < SWEEP_EVERY {
                return;
            }
            *last = now;
        }
        for shard in &*self.shards {
            write(shard).retain(|topic, stream| {
                // A stream in use is not idle: keep it.
                let Ok(mut stream) = stream.try_lock() else { return true };
                stream.expire(now);
                let forget = stream.kept.is_empty() && !watched(topic);
                stream.retired = forget;
                !forget
            });
        }
    }

    /// How many topics have a stream.
    #[cfg(test)]
    pub(crate) fn stream_count(&self) -> usize {
        self.shards.iter().map(|s| read(s).len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Outbound {
        Outbound::text(r#"{"type":"m"}"#)
    }

    #[test]
    fn keeps_the_last_size_messages_with_offsets_from_1() {
        let history = MemoryHistory::default();
        let retention = Retention::new(3, Duration::from_secs(60));
        for expected in 1..=5 {
            let offset = history.append("t", &message(), retention, |m| m.offset());
            assert_eq!(offset, Some(expected));
        }
        let epoch = history.read("t", None, retention).position.epoch;
        let since = Position { epoch: epoch.clone(), offset: 1 };
        let read = history.read("t", Some(&since), retention);
        assert_eq!(read.position, Position { epoch, offset: 5 });
        assert_eq!(read.messages.iter().map(|m| m.offset().unwrap()).collect::<Vec<_>>(), [3, 4, 5]);
        let other = Position { epoch: "other".into(), offset: 1 };
        assert!(history.read("t", Some(&other), retention).messages.is_empty());
    }

    #[test]
    fn an_empty_unwatched_stream_is_forgotten_and_starts_a_new_epoch() {
        let history = MemoryHistory::default();
        let retention = Retention::new(3, Duration::from_millis(1));
        history.append("t", &message(), retention, |_| ());
        let first = history.read("t", None, retention).position;
        std::thread::sleep(Duration::from_millis(5));
        *history.last_sweep.lock().unwrap() -= SWEEP_EVERY;
        history.sweep_if_due(|topic| topic == "watched");
        assert_eq!(history.stream_count(), 0);
        let again = history.read("t", None, retention).position;
        assert_ne!(again.epoch, first.epoch);
        assert_eq!(again.offset, 0);

        history.append("watched", &message(), retention, |_| ());
        std::thread::sleep(Duration::from_millis(5));
        *history.last_sweep.lock().unwrap() -= SWEEP_EVERY;
        history.sweep_if_due(|topic| topic == "watched");
        assert_eq!(history.read("watched", None, retention).position.offset, 1, "kept while watched");
    }
}
