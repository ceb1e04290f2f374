//! [`Sockets`]: server-level pub/sub, usable anywhere (HTTP routes, tasks).

use std::sync::Arc;

use crate::connection::direct::PollScope;
use crate::connection::registry::Connections;
use crate::protocol::{BROADCAST_TOPIC, validate_topic};
use crate::pubsub::Outbound;
use crate::{PubSubError, Socket, SocketId, SocketMessage};

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
    connections: Arc<Connections>,
}

impl Sockets {
    pub(crate) fn new(connections: Arc<Connections>) -> Sockets {
        Sockets { connections }
    }

    pub(crate) fn connections(&self) -> &Arc<Connections> {
        &self.connections
    }

    /// Publishes `message` as-is to every subscriber of `topic`.
    pub fn publish(&self, topic: &str, message: impl Into<Outbound>) -> Result<(), PubSubError> {
        publish(&self.connections, topic, &message.into(), None)
    }

    /// Publishes `{"type": M::TYPE, "data": message}` to every subscriber of `topic`.
    pub fn emit<M: SocketMessage>(&self, topic: &str, message: &M) -> Result<(), PubSubError> {
        let outbound = Outbound::typed(message)?;
        publish(&self.connections, topic, &outbound, None)
    }

    /// Sends `message` to every connection (the `__broadcast__` topic).
    pub fn broadcast(&self, message: impl Into<Outbound>) {
        let _writes = PollScope::enter();
        self.connections.pubsub.publish(BROADCAST_TOPIC, &message.into(), None);
    }

    /// Sends `message` to one connection, wherever it is connected.
    ///
    /// A connection of this instance that is closing (or was just closed for
    /// a full queue) answers [`PubSubError::Closed`]: nothing was queued.
    pub fn send_to(&self, socket: SocketId, message: impl Into<Outbound>) -> Result<(), PubSubError> {
        let message = message.into();
        let _writes = PollScope::enter();
        match self.connections.get(&socket) {
            Some(core) if core.push_outbound(&message) => Ok(()),
            Some(_) => Err(PubSubError::Closed),
            None => self.connections.pubsub.send_to_remote(socket, &message),
        }
    }

    /// Sends `{"type": M::TYPE, "data": message}` to one connection.
    pub fn emit_to<M: SocketMessage>(&self, socket: SocketId, message: &M) -> Result<(), PubSubError> {
        let outbound = Outbound::typed(message)?;
        self.send_to(socket, outbound)
    }

    /// A handle to a connection of this instance, if it is open.
    pub fn get(&self, socket: SocketId) -> Option<Socket> {
        self.connections.get(&socket).map(Socket::new)
    }

    /// Open connections on this instance.
    pub fn connection_count(&self) -> usize {
        self.connections.connection_count()
    }

    /// Connections of this instance subscribed to `topic`.
    pub fn subscriber_count(&self, topic: &str) -> usize {
        self.connections.pubsub.local_subscriber_count(topic)
    }
}

impl std::fmt::Debug for Sockets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sockets").field("connections", &self.connection_count()).finish()
    }
}

pub(crate) fn publish(
    connections: &Connections,
    topic: &str,
    message: &Outbound,
    exclude: Option<SocketId>,
) -> Result<(), PubSubError> {
    validate_topic(topic).map_err(|reason| PubSubError::InvalidTopic { topic: topic.to_owned(), reason })?;
    // Outside a driver's poll (an HTTP route, a task of the worker), the
    // subscribers on this worker are written when the publish returns,
    // instead of each being woken to write its own (`connection::direct`).
    let _writes = PollScope::enter();
    connections.pubsub.publish(topic, message, exclude);
    Ok(())
}

impl From<&str> for Outbound {
    fn from(text: &str) -> Self {
        Outbound::text(text)
    }
}

impl From<String> for Outbound {
    fn from(text: String) -> Self {
        Outbound::text(&text)
    }
}

impl From<&String> for Outbound {
    fn from(text: &String) -> Self {
        Outbound::text(text)
    }
}

impl From<&Outbound> for Outbound {
    fn from(message: &Outbound) -> Self {
        message.clone()
    }
}

impl From<&serde_json::Value> for Outbound {
    fn from(value: &serde_json::Value) -> Self {
        Outbound::text(&value.to_string())
    }
}
