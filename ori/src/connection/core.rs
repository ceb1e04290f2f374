//! [`ConnectionCore`]: what every handle to one connection shares.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use foldhash::fast::RandomState;

use crate::connection::direct::{self, Home, Writer};
use crate::connection::outbox::Outbox;
use crate::connection::socket_id::SocketId;
use crate::connection::state::{ConnectionStates, StateMap};
use crate::protocol::Outbound;
use crate::protocol::codec::Codec;
use crate::protocol::outbound::Encoding;

/// The topics one connection has joined (server-internal topics excluded),
/// and its presence: the topics whose diffs it gets, what it is tracked as.
#[derive(Debug, Default)]
pub(crate) struct Subscriptions {
    /// Boxed: a connection that never subscribes carries a null pointer
    /// (an empty set inline takes 40 bytes; an idle connection's size matters).
    #[allow(clippy::box_collection, reason = "8 bytes inline instead of 40, for every connection")]
    topics: Option<Box<HashSet<Box<str>, RandomState>>>,
    /// Allocated when the connection first watches a topic's presence or is
    /// tracked (most never are: an idle connection's size matters).
    presence: Option<Box<PresenceSets>>,
    /// The connection is gone; no new subscription may be added.
    pub(crate) closed: bool,
}

/// A connection's presence: what it watches, what it is tracked as.
#[derive(Debug, Default)]
pub(crate) struct PresenceSets {
    /// Topics whose presence diffs the connection gets (a subset of `topics`).
    pub(crate) watching: HashSet<Box<str>, RandomState>,
    /// `(topic, key)` of each presence entry of the connection.
    pub(crate) tracked: HashSet<(Box<str>, Box<str>), RandomState>,
}

impl Subscriptions {
    /// Whether the connection joined `topic`.
    pub(crate) fn is_subscribed(&self, topic: &str) -> bool {
        self.topics.as_ref().is_some_and(|topics| topics.contains(topic))
    }

    /// How many topics the connection joined.
    pub(crate) fn topic_count(&self) -> usize {
        self.topics.as_ref().map_or(0, |topics| topics.len())
    }

    /// The topics the connection joined.
    pub(crate) fn topics(&self) -> impl Iterator<Item = &str> {
        self.topics.iter().flat_map(|topics| topics.iter().map(|topic| &**topic))
    }

    /// Records `topic`; `false` if it was recorded already.
    pub(crate) fn add_topic(&mut self, topic: &str) -> bool {
        self.topics.get_or_insert_default().insert(topic.into())
    }

    /// Forgets `topic`; `false` if it was not recorded.
    pub(crate) fn remove_topic(&mut self, topic: &str) -> bool {
        self.topics.as_mut().is_some_and(|topics| topics.remove(topic))
    }

    /// Takes every topic (the connection is closing).
    pub(crate) fn take_topics(&mut self) -> HashSet<Box<str>, RandomState> {
        self.topics.take().map(|topics| *topics).unwrap_or_default()
    }

    fn presence(&mut self) -> &mut PresenceSets {
        self.presence.get_or_insert_default()
    }

    /// Starts watching `topic`'s presence; `false` if it was watched already.
    pub(crate) fn watch(&mut self, topic: &str) -> bool {
        self.presence().watching.insert(topic.into())
    }

    /// Stops watching `topic`'s presence; `false` if it was not watched.
    pub(crate) fn unwatch(&mut self, topic: &str) -> bool {
        self.presence.as_mut().is_some_and(|p| p.watching.remove(topic))
    }

    /// Records the presence entry `(topic, key)`; `false` if it was recorded already.
    pub(crate) fn track(&mut self, topic: &str, key: &str) -> bool {
        self.presence().tracked.insert((topic.into(), key.into()))
    }

    /// Forgets the presence entry `(topic, key)`; `false` if there was none.
    pub(crate) fn untrack(&mut self, topic: &str, key: &str) -> bool {
        self.presence.as_mut().is_some_and(|p| p.tracked.remove(&(topic.into(), key.into())))
    }

    /// Whether the presence entry `(topic, key)` is recorded.
    pub(crate) fn is_tracked(&self, topic: &str, key: &str) -> bool {
        self.presence.as_ref().is_some_and(|p| p.tracked.contains(&(topic.into(), key.into())))
    }

    /// Takes every presence entry and watched topic (the connection is closing).
    pub(crate) fn take_presence(&mut self) -> PresenceSets {
        self.presence.take().map(|presence| *presence).unwrap_or_default()
    }
}

/// Where a connection comes from, for introspection.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    /// The peer's address, when the transport knows it.
    pub(crate) remote_addr: Option<std::net::SocketAddr>,
    /// When it was opened, in milliseconds since the Unix epoch.
    pub(crate) connected_at_ms: u64,
    /// The path of its endpoint.
    pub(crate) endpoint_path: Arc<str>,
}

/// What the endpoint of a connection allows it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_subscriptions: usize,
    pub(crate) outbound_queue_bytes: usize,
    /// Which endpoint of the server the connection belongs to (its idle
    /// sweeper looks at its own connections only).
    pub(crate) endpoint: u8,
}

/// What the client and the server agreed on at the upgrade. Connections
/// that agreed on nothing (no subprotocol, JSON, no compression) carry
/// `None` instead, so that the common case costs a null pointer.
#[derive(Debug, Clone, Default)]
pub(crate) struct Negotiated {
    /// The subprotocol, if the client asked for one.
    pub(crate) subprotocol: Option<Arc<str>>,
    /// The envelopes' codec (JSON unless `ori.v1.msgpack` was chosen on an
    /// envelope endpoint) and permessage-deflate, if the endpoint has
    /// compression and the client offered it.
    pub(crate) encoding: Encoding,
}

/// Shared state of one connection: its queue, its subscriptions, its states.
/// It knows nothing of the app: the handles ([`Socket`](crate::Socket))
/// carry the app beside it, so the registry of connections that the app
/// holds never leads back to the app.
///
/// Laid out as declared (`repr(C)`): what a push reads (the queue, the
/// encoding, whether the driver is writing, the home thread) fills the
/// core's first 128 bytes, so that with the `Arc`'s counts before it a
/// publish to thousands of connections reads three cache lines of each,
/// wherever the allocator put it (it was five or six).
#[derive(Debug)]
#[repr(C)]
pub(crate) struct ConnectionCore {
    pub(crate) outbox: Outbox,
    /// What was negotiated at the upgrade; `None` (no allocation) for the
    /// common case: no subprotocol, JSON, no compression.
    negotiated: Option<Box<Negotiated>>,
    /// The driver has frames of its own not yet written: no direct writes.
    writer_busy: AtomicBool,
    /// A frame arrived since the idle sweeper last looked.
    seen: AtomicBool,
    /// Sweeps in a row that found the connection silent.
    silent_sweeps: AtomicU8,
    /// See [`Limits::endpoint`].
    pub(crate) endpoint: u8,
    pub(crate) max_subscriptions: u32,
    /// The thread that runs the connection (see `connection::direct`); its
    /// `thread`, which every push reads, ends the first 128 bytes.
    home: Home,
    pub(crate) id: SocketId,
    pub(crate) subscriptions: Mutex<Subscriptions>,
    pub(crate) states: ConnectionStates,
    /// Where it comes from (introspection).
    pub(crate) origin: Origin,
}

impl ConnectionCore {
    pub(crate) fn new(
        id: SocketId,
        states: StateMap,
        limits: Limits,
        negotiated: Option<Box<Negotiated>>,
        origin: Origin,
    ) -> ConnectionCore {
        ConnectionCore {
            id,
            outbox: Outbox::new(limits.outbound_queue_bytes),
            subscriptions: Mutex::new(Subscriptions::default()),
            states: ConnectionStates::new(states),
            max_subscriptions: u32::try_from(limits.max_subscriptions).unwrap_or(u32::MAX),
            endpoint: limits.endpoint,
            negotiated,
            seen: AtomicBool::new(true),
            silent_sweeps: AtomicU8::new(0),
            home: Home::here(),
            writer_busy: AtomicBool::new(false),
            origin,
        }
    }

    /// Queues `frame` and sees that it gets written; `false` if it was refused
    /// (the connection is closing, or its queue overflowed).
    pub(crate) fn push(self: &Arc<Self>, frame: Bytes) -> bool {
        // Only a push into an empty queue has to see that the queue gets written.
        let mut writer = Writer::Driver;
        let accepted = self.outbox.push(frame, |direct_allowed| {
            if direct_allowed {
                writer = direct::writer(self);
            }
            writer == Writer::Driver
        });
        if writer != Writer::Driver {
            direct::defer(self, writer);
        }
        accepted
    }

    /// The subprotocol, if the client asked for one.
    pub(crate) fn subprotocol(&self) -> Option<&str> {
        self.negotiated.as_ref()?.subprotocol.as_deref()
    }

    /// The envelopes' codec.
    pub(crate) fn codec(&self) -> Codec {
        self.encoding().codec
    }

    /// How this connection receives messages: codec and compression.
    pub(crate) fn encoding(&self) -> Encoding {
        self.negotiated.as_ref().map_or(Encoding::PLAIN, |n| n.encoding)
    }

    /// Queues `message` in this connection's encoding (each encoding is made
    /// once per publish, for all subscribers: see [`Outbound::frame_for`]).
    pub(crate) fn push_outbound(self: &Arc<Self>, message: &Outbound) -> bool {
        self.push(message.frame_for(self.encoding()))
    }

    pub(crate) fn home(&self) -> &Home {
        &self.home
    }

    pub(crate) fn writer_busy(&self) -> bool {
        self.writer_busy.load(Ordering::Relaxed)
    }

    /// Called by the driver at the end of each poll.
    pub(crate) fn set_writer_busy(&self, busy: bool) {
        self.writer_busy.store(busy, Ordering::Relaxed);
    }

    /// Records that the client sent something.
    pub(crate) fn mark_seen(&self) {
        if !self.seen.load(Ordering::Relaxed) {
            self.seen.store(true, Ordering::Relaxed);
        }
    }

    /// Called by the idle sweeper; returns how many sweeps in a row found the connection silent.
    pub(crate) fn sweep(&self) -> u8 {
        if self.seen.swap(false, Ordering::Relaxed) {
            self.silent_sweeps.store(0, Ordering::Relaxed);
            0
        } else {
            self.silent_sweeps.fetch_add(1, Ordering::Relaxed).saturating_add(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::mem::{offset_of, size_of};

    use super::*;

    /// What a push reads ends within the core's first 128 bytes (`Home`'s
    /// `thread` is its first field): with the `Arc`'s 16 bytes of counts,
    /// 144 bytes, three cache lines wherever a 16-byte aligned allocation
    /// starts. Moving a field in front of these undoes it.
    #[test]
    fn what_a_push_reads_comes_first() {
        let ends = [
            offset_of!(ConnectionCore, outbox) + size_of::<Outbox>(),
            offset_of!(ConnectionCore, negotiated) + size_of::<Option<Box<Negotiated>>>(),
            offset_of!(ConnectionCore, writer_busy) + 1,
            offset_of!(ConnectionCore, home) + size_of::<usize>(),
        ];
        assert!(ends.iter().all(|&end| end <= 128), "{ends:?}");
    }
}
