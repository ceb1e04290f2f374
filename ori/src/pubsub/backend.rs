//! The [`PubSubBackend`] trait: where topics live and how messages reach them.

use std::sync::Weak;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use super::Subscriber;
use crate::connection::direct;
use crate::connection::registry::ConnectionRegistry;
use crate::error::BoxError;
use crate::protocol::Outbound;
use crate::{PubSubError, SocketId};

/// The future returned by [`PubSubBackend::subscribe`].
pub type Subscribed = BoxFuture<'static, Result<(), PubSubError>>;

/// Carries pub/sub traffic: keeps each topic's subscribers and delivers
/// published messages to them.
///
/// The default, [`InProcess`](crate::pubsub::InProcess), serves one server instance.
/// A provider for many instances (Redis) delivers to local subscribers itself
/// and forwards what other instances need.
///
/// Topic names given to a provider are always valid (PROTOCOL.md rules); the
/// server validates them first.
pub trait PubSubBackend: Send + Sync + 'static {
    /// Subscribes `subscriber` to `topic`.
    ///
    /// Local registration happens before this returns, so messages published
    /// on this instance reach the subscriber from then on. The returned future
    /// resolves once messages published from *any* instance reach it; the
    /// subscription is acknowledged to the client only then.
    fn subscribe(&self, topic: &str, subscriber: &Subscriber) -> Subscribed;

    /// Removes the subscription (a no-op if there is none).
    fn unsubscribe(&self, topic: &str, subscriber: SocketId);

    /// Delivers `message` to every subscriber of `topic` except `exclude`,
    /// on every instance, at most once each, in publish order per publisher.
    fn publish(&self, topic: &str, message: &Outbound, exclude: Option<SocketId>);

    /// Delivers `message` to a socket that is not connected to this instance.
    ///
    /// The default (single instance) answers [`PubSubError::UnknownSocket`].
    fn send_to_remote(&self, socket: SocketId, message: &Outbound) -> Result<(), PubSubError> {
        let _ = message;
        Err(PubSubError::UnknownSocket(socket))
    }

    /// How many connections of this instance are subscribed to `topic`.
    fn local_subscriber_count(&self, topic: &str) -> usize;

    /// Starts the provider (connects, spawns its tasks) before the server
    /// binds its port; an error stops start-up. Called once.
    fn start(&self, context: BackendContext) -> BoxFuture<'static, Result<(), BoxError>> {
        let _ = context;
        std::future::ready(Ok(())).boxed()
    }

    /// Stops the provider's tasks when the server has shut down.
    fn shutdown(&self) {}
}

/// What a provider may ask of the server it serves.
#[derive(Clone, Debug)]
pub struct BackendContext {
    connections: Weak<ConnectionRegistry>,
}

impl BackendContext {
    pub(crate) fn new(connections: Weak<ConnectionRegistry>) -> BackendContext {
        BackendContext { connections }
    }

    /// Queues `message` on the connection `socket` if it is connected to this
    /// instance; returns whether it was.
    pub fn deliver_to(&self, socket: SocketId, message: &Outbound) -> bool {
        match self.connections.upgrade().and_then(|connections| connections.get(&socket)) {
            Some(core) => direct::batch(|| core.push_outbound(message)),
            None => false,
        }
    }
}
