//! [`Sockets`]: server-level pub/sub, usable anywhere (HTTP routes, tasks).

use std::sync::Arc;

use crate::connection::direct;
use crate::connection::socket_id::SocketId;
use crate::error::PubSubError;
use crate::handles::app_context::{AppContext, AppShared};
use crate::handles::socket::Socket;
use crate::protocol::{BROADCAST_TOPIC, Outbound, SocketMessage};

/// Server-level pub/sub: reaches every subscriber (no sender to exclude).
///
/// Get it from [`AppContext::sockets`](crate::AppContext::sockets).
///
/// ```no_run
/// # async fn demo(ctx: ori::AppContext, id: ori::SocketId) -> Result<(), ori::PubSubError> {
/// let sockets = ctx.sockets();
/// sockets.publish("room:1", r#"{"type":"room.closed","data":null}"#)?;
/// sockets.broadcast(r#"{"type":"server.notice","data":"maintenance at 22:00"}"#);
/// sockets.send_to(id, r#"{"type":"account.updated","data":{}}"#)?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Sockets {
    shared: Arc<AppShared>,
}

impl Sockets {
    pub(crate) fn new(shared: Arc<AppShared>) -> Sockets {
        Sockets { shared }
    }

    pub(crate) fn shared(&self) -> &AppShared {
        &self.shared
    }

    pub(crate) fn shared_arc(&self) -> &Arc<AppShared> {
        &self.shared
    }

    /// Publishes `message` as-is to every subscriber of `topic`. On a topic
    /// that keeps history ([`Ori::history`](crate::Ori::history)) it must be
    /// a JSON object, and is delivered with its position; anything else is
    /// [`PubSubError::NotPositionable`].
    pub fn publish(&self, topic: &str, message: impl Into<Outbound>) -> Result<(), PubSubError> {
        publish(&self.shared, topic, &message.into(), None)
    }

    /// Publishes `{"type": M::TYPE, "data": message}` to every subscriber of `topic`.
    pub fn emit<M: SocketMessage>(&self, topic: &str, message: &M) -> Result<(), PubSubError> {
        publish(&self.shared, topic, &typed(message)?, None)
    }

    /// Sends `message` to every connection (the `__broadcast__` topic).
    pub fn broadcast(&self, message: impl Into<Outbound>) {
        self.shared.pubsub.publish(BROADCAST_TOPIC, &message.into(), None);
    }

    /// Sends `message` to one connection, wherever it is connected.
    ///
    /// A connection of this instance that is closing (or was just closed for
    /// a full queue) answers [`PubSubError::Closed`]: nothing was queued.
    pub fn send_to(&self, socket: SocketId, message: impl Into<Outbound>) -> Result<(), PubSubError> {
        let message = message.into();
        match self.shared.connections.get(&socket) {
            Some(core) if direct::batch(|| core.push_outbound(&message)) => Ok(()),
            Some(_) => Err(PubSubError::Closed),
            None => self.shared.pubsub.send_to_remote(socket, &message),
        }
    }

    /// Sends `{"type": M::TYPE, "data": message}` to one connection.
    pub fn emit_to<M: SocketMessage>(&self, socket: SocketId, message: &M) -> Result<(), PubSubError> {
        self.send_to(socket, typed(message)?)
    }

    /// A handle to a connection of this instance, if it is open.
    pub fn get(&self, socket: SocketId) -> Option<Socket> {
        let core = self.shared.connections.get(&socket)?;
        Some(Socket::new(core, AppContext::of(self.clone())))
    }

    /// Open connections on this instance.
    pub fn connection_count(&self) -> usize {
        self.shared.connections.count()
    }

    /// Connections of this instance subscribed to `topic`.
    pub fn subscriber_count(&self, topic: &str) -> usize {
        self.shared.pubsub.local_subscriber_count(topic)
    }
}

impl std::fmt::Debug for Sockets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sockets").field("connections", &self.connection_count()).finish()
    }
}

/// Publishes `message` on `topic`, a name the caller gave (so it is checked),
/// to every subscriber but `exclude`; on a topic that keeps history, with
/// its position (so it must be a JSON object).
pub(crate) fn publish(
    shared: &AppShared,
    topic: &str,
    message: &Outbound,
    exclude: Option<SocketId>,
) -> Result<(), PubSubError> {
    PubSubError::check_topic(topic)?;
    match shared.history.retention(topic) {
        None => {
            shared.pubsub.publish(topic, message, exclude);
            Ok(())
        }
        Some(retention) => {
            let message = message
                .to_positionable()
                .map_err(|reason| PubSubError::NotPositionable { topic: topic.to_owned(), reason })?;
            shared.pubsub.publish_kept(topic, &message, exclude, retention)
        }
    }
}

/// `{"type": M::TYPE, "data": message}`, or the pub/sub error a failed
/// serialization is.
pub(crate) fn typed<M: SocketMessage>(message: &M) -> Result<Outbound, PubSubError> {
    Outbound::message(message).map_err(|e| PubSubError::Serialize(e.to_string()))
}
