//! Control of any socket from any instance: [`Sockets::disconnect`],
//! [`Sockets::subscribe_socket`], [`Sockets::unsubscribe_socket`],
//! [`Sockets::count_connections`], [`Sockets::count_subscribers`]; and the
//! server's side of them, which a backend reaches through its
//! [`BackendContext`].

use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use crate::connection::registry::ConnectionRegistry;
use crate::connection::socket_id::SocketId;
use crate::error::PubSubError;
use crate::handles::app_context::AppShared;
use crate::handles::socket::Socket;
use crate::handles::sockets::Sockets;
use crate::pubsub::BackendContext;
use crate::pubsub::control::{self, CountQuery, LocalControl, SocketCommand};

impl Sockets {
    /// Closes `socket`'s connection with `code` and `reason` (as
    /// [`Socket::close`]), on whichever instance it is connected to.
    ///
    /// Resolves once that instance has asked the connection to close;
    /// [`PubSubError::UnknownSocket`] if no instance holds it. Across
    /// instances it needs a backend with
    /// [`Capability::RemoteControl`](crate::pubsub::Capability::RemoteControl)
    /// (the in-process and Redis backends have it).
    ///
    /// ```no_run
    /// # async fn demo(ctx: ori::AppContext, id: ori::SocketId) -> Result<(), ori::PubSubError> {
    /// ctx.sockets().disconnect(id, 4001, "kicked by an admin").await?;
    /// # Ok(()) }
    /// ```
    pub async fn disconnect(&self, socket: SocketId, code: u16, reason: &str) -> Result<(), PubSubError> {
        self.command(socket, SocketCommand::Disconnect { code, reason: reason.to_owned() }).await
    }

    /// Subscribes `socket` to `topic` (as [`Socket::subscribe`]), on
    /// whichever instance it is connected to; resolves once messages
    /// published to the topic from any instance reach it.
    /// [`PubSubError::UnknownSocket`] if no instance holds it.
    pub async fn subscribe_socket(&self, socket: SocketId, topic: &str) -> Result<(), PubSubError> {
        PubSubError::check_topic(topic)?;
        self.command(socket, SocketCommand::Subscribe { topic: topic.to_owned() }).await
    }

    /// Unsubscribes `socket` from `topic` (as [`Socket::unsubscribe`]), on
    /// whichever instance it is connected to (a socket that was not
    /// subscribed: nothing to do, `Ok`). [`PubSubError::UnknownSocket`] if
    /// no instance holds it.
    pub async fn unsubscribe_socket(&self, socket: SocketId, topic: &str) -> Result<(), PubSubError> {
        PubSubError::check_topic(topic)?;
        self.command(socket, SocketCommand::Unsubscribe { topic: topic.to_owned() }).await
    }

    /// Open connections on every instance (this one's alone:
    /// [`connection_count`](Self::connection_count)). Fails if an instance
    /// does not answer in time, rather than return a partial sum.
    pub async fn count_connections(&self) -> Result<usize, PubSubError> {
        self.count_everywhere(CountQuery::Connections).await
    }

    /// Connections subscribed to `topic` on every instance (this one's
    /// alone: [`subscriber_count`](Self::subscriber_count)).
    pub async fn count_subscribers(&self, topic: &str) -> Result<usize, PubSubError> {
        PubSubError::check_topic(topic)?;
        self.count_everywhere(CountQuery::Subscribers { topic: topic.to_owned() }).await
    }

    /// The context a backend is started with: this app's connections, and
    /// the running of commands and counts that other instances send.
    pub(crate) fn backend_context(&self) -> BackendContext {
        BackendContext::new(control::weak(self.shared_arc()))
    }

    async fn command(&self, socket: SocketId, command: SocketCommand) -> Result<(), PubSubError> {
        if let Some(here) = self.get(socket) {
            return run(&here, command).await;
        }
        match self.shared().pubsub.command_remote(socket, &command).await? {
            true => Ok(()),
            false => Err(PubSubError::UnknownSocket(socket)),
        }
    }

    async fn count_everywhere(&self, query: CountQuery) -> Result<usize, PubSubError> {
        let here = local_count(self.shared(), &query);
        Ok(here + self.shared().pubsub.count_remote(&query).await?)
    }
}

impl LocalControl for AppShared {
    fn connections(&self) -> &ConnectionRegistry {
        &self.connections
    }

    fn run(
        self: Arc<Self>,
        socket: SocketId,
        command: SocketCommand,
    ) -> BoxFuture<'static, Option<Result<(), PubSubError>>> {
        let sockets = Sockets::new(self);
        async move {
            let here = sockets.get(socket)?;
            Some(run(&here, command).await)
        }
        .boxed()
    }

    fn count(&self, query: &CountQuery) -> usize {
        local_count(self, query)
    }

    fn retention(&self, topic: &str) -> Option<crate::pubsub::Retention> {
        self.history.retention(topic)
    }
}

/// Runs `command` on a connection of this instance.
async fn run(socket: &Socket, command: SocketCommand) -> Result<(), PubSubError> {
    match command {
        SocketCommand::Disconnect { code, reason } => {
            socket.close(code, &reason);
            Ok(())
        }
        SocketCommand::Subscribe { topic } => socket.subscribe(&topic).await,
        SocketCommand::Unsubscribe { topic } => {
            socket.unsubscribe(&topic);
            Ok(())
        }
    }
}

fn local_count(shared: &AppShared, query: &CountQuery) -> usize {
    match query {
        CountQuery::Connections => shared.connections.count(),
        CountQuery::Subscribers { topic } => shared.pubsub.local_subscriber_count(topic),
    }
}
