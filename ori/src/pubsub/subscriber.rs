//! [`Subscriber`]: what a pub/sub provider holds for each local subscription.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::connection::core::ConnectionCore;
use crate::connection::socket_id::SocketId;
use crate::protocol::Outbound;
use crate::util::sync::lock;

/// A local connection as seen by a [`PubSubBackend`](crate::pubsub::PubSubBackend):
/// an id and a way to queue a message on it.
#[derive(Clone)]
pub struct Subscriber {
    core: Arc<ConnectionCore>,
    /// Set while the subscription's first messages (its acknowledgement, a
    /// replay) are being prepared: live messages wait here meanwhile.
    gate: Option<Arc<Gate>>,
}

/// Holds a new subscription's live messages until its acknowledgement and
/// replay are queued, then lets them through, each once.
#[derive(Default)]
pub(crate) struct Gate {
    open: AtomicBool,
    held: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    messages: Vec<Outbound>,
    bytes: usize,
    overflowed: bool,
}

impl Subscriber {
    pub(crate) fn new(core: Arc<ConnectionCore>) -> Subscriber {
        Subscriber { core, gate: None }
    }

    /// A subscriber whose live messages wait until [`open`](Self::open).
    pub(crate) fn gated(core: Arc<ConnectionCore>) -> Subscriber {
        Subscriber { core, gate: Some(Arc::default()) }
    }

    /// A subscriber for the same connection whose deliveries are held until
    /// [`release`](Self::release): what a backend registers in place of a
    /// watcher whose state it must send again (e.g. after its store lost
    /// its data), so that the diffs already in that state are not applied
    /// twice.
    pub fn held(&self) -> Subscriber {
        Subscriber::gated(self.core.clone())
    }

    /// Delivers `first`, then what was held meanwhile with an offset (or
    /// version) above `after` or none, then lets later deliveries straight
    /// through. On a subscriber that holds nothing, delivers `first`.
    pub fn release(&self, after: u64, first: &[Outbound]) {
        self.open(after, || {
            for message in first {
                self.core.push_outbound(message);
            }
        });
    }

    /// The connection's socket id.
    pub fn id(&self) -> SocketId {
        self.core.id
    }

    /// Queues `message` on the connection. Never blocks: if the connection's
    /// outbound queue overflows, the connection is closed with 1013 instead.
    /// Returns `false` if the message was not queued.
    pub fn deliver(&self, message: &Outbound) -> bool {
        if let Some(gate) = &self.gate
            && !gate.open.load(Ordering::Acquire)
        {
            let mut held = lock(&gate.held);
            // Checked again under the lock: `open` sets it while holding it.
            if !gate.open.load(Ordering::Relaxed) {
                held.bytes += message.payload().len();
                if held.bytes > self.core.outbox.limit() {
                    held.overflowed = true;
                    held.messages = Vec::new();
                    return false;
                }
                held.messages.push(message.clone());
                return true;
            }
        }
        self.core.push_outbound(message)
    }

    /// Runs `first` (which queues the subscription's first messages), then
    /// queues the live messages held meanwhile (those with an offset only
    /// above `after`: the others were in `first`'s replay), and lets the
    /// next ones straight through. A subscriber whose held messages
    /// overflowed the connection's queue bound closes it (1013).
    pub(crate) fn open(&self, after: u64, first: impl FnOnce()) {
        let Some(gate) = &self.gate else {
            first();
            return;
        };
        let mut held = lock(&gate.held);
        first();
        if held.overflowed {
            self.core.outbox.overflow();
        }
        for message in std::mem::take(&mut held.messages) {
            if message.offset().is_none_or(|offset| offset > after) {
                self.core.push_outbound(&message);
            }
        }
        gate.open.store(true, Ordering::Release);
    }
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Subscriber").field(&self.core.id).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use bytes::Bytes;

    use super::*;
    use crate::connection::core::{Limits, Origin};
    use crate::connection::state::StateMap;

    fn origin() -> Origin {
        Origin { remote_addr: None, connected_at_ms: 0, endpoint_path: "/ws".into() }
    }

    fn core() -> Arc<ConnectionCore> {
        let limits = Limits { max_subscriptions: 8, outbound_queue_bytes: 1 << 20, endpoint: 0 };
        Arc::new(ConnectionCore::new(SocketId::new(), StateMap::default(), limits, None, origin()))
    }

    fn queued(core: &ConnectionCore) -> Vec<String> {
        let mut frames = VecDeque::new();
        core.outbox.drain(&mut frames, futures_util::task::noop_waker_ref());
        frames.iter().map(|f: &Bytes| String::from_utf8_lossy(&f[2..]).into_owned()).collect()
    }

    #[test]
    fn held_messages_follow_the_first_ones_each_once() {
        let core = core();
        let subscriber = Subscriber::gated(core.clone());
        let kept = |offset| Outbound::text("{}").with_position("t", offset);
        for offset in 1..=3 {
            assert!(subscriber.deliver(&kept(offset)));
        }
        assert!(queued(&core).is_empty(), "held until open");
        subscriber.open(2, || {
            core.push(Bytes::from_static(b"\x81\x03ack"));
        });
        subscriber.deliver(&kept(4));
        let queued = queued(&core);
        assert_eq!(queued[0], "ack");
        assert_eq!(&queued[1..], [r#"{"topic":"t","offset":3}"#, r#"{"topic":"t","offset":4}"#]);
    }

    #[test]
    fn held_messages_past_the_queue_bound_close_the_connection() {
        let limits = Limits { max_subscriptions: 8, outbound_queue_bytes: 16, endpoint: 0 };
        let core =
            Arc::new(ConnectionCore::new(SocketId::new(), StateMap::default(), limits, None, origin()));
        let subscriber = Subscriber::gated(core.clone());
        assert!(subscriber.deliver(&Outbound::text("0123456789")));
        assert!(!subscriber.deliver(&Outbound::text("0123456789")), "over the bound");
        subscriber.open(0, || {});
        assert!(core.outbox.is_closed());
    }
}
