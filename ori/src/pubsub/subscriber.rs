//! [`Subscriber`]: what a pub/sub provider holds for each local subscription.

use std::sync::Arc;

use crate::connection::core::ConnectionCore;
use crate::connection::socket_id::SocketId;
use crate::protocol::Outbound;

/// A local connection as seen by a [`PubSubBackend`](crate::pubsub::PubSubBackend):
/// an id and a way to queue a message on it.
#[derive(Clone)]
pub struct Subscriber {
    core: Arc<ConnectionCore>,
}

impl Subscriber {
    pub(crate) fn new(core: Arc<ConnectionCore>) -> Subscriber {
        Subscriber { core }
    }

    /// The connection's socket id.
    pub fn id(&self) -> SocketId {
        self.core.id
    }

    /// Queues `message` on the connection. Never blocks: if the connection's
    /// outbound queue overflows, the connection is closed with 1013 instead.
    /// Returns `false` if the message was not queued.
    pub fn deliver(&self, message: &Outbound) -> bool {
        self.core.push_outbound(message)
    }
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Subscriber").field(&self.core.id).finish()
    }
}
