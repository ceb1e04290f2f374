//! Control of any socket from any instance: what one instance asks the
//! instance holding a socket to do ([`SocketCommand`]), what it counts on
//! every instance ([`CountQuery`]), and how a backend runs them where the
//! socket is ([`BackendContext::run_command`](crate::pubsub::BackendContext::run_command),
//! [`BackendContext::count`](crate::pubsub::BackendContext::count)).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::connection::registry::ConnectionRegistry;
use crate::connection::socket_id::SocketId;
use crate::error::PubSubError;

/// What to do to a socket, on the instance it is connected to
/// ([`Sockets::disconnect`](crate::Sockets::disconnect),
/// [`subscribe_socket`](crate::Sockets::subscribe_socket),
/// [`unsubscribe_socket`](crate::Sockets::unsubscribe_socket)). A backend
/// carries it to that instance; it serializes to JSON for the wire.
///
/// ```
/// use ori::pubsub::SocketCommand;
///
/// let kick = SocketCommand::Disconnect { code: 4001, reason: "kicked".into() };
/// let json = serde_json::to_string(&kick).unwrap();
/// assert_eq!(json, r#"{"disconnect":{"code":4001,"reason":"kicked"}}"#);
/// assert_eq!(serde_json::from_str::<SocketCommand>(&json).unwrap(), kick);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum SocketCommand {
    /// Close the connection with `code` and `reason` (as [`Socket::close`](crate::Socket::close)).
    Disconnect {
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// Subscribe the connection to `topic` (as [`Socket::subscribe`](crate::Socket::subscribe)).
    Subscribe {
        /// The topic.
        topic: String,
    },
    /// Unsubscribe the connection from `topic` (as [`Socket::unsubscribe`](crate::Socket::unsubscribe)).
    Unsubscribe {
        /// The topic.
        topic: String,
    },
}

/// What to count on every instance ([`Sockets::count_connections`](crate::Sockets::count_connections),
/// [`Sockets::count_subscribers`](crate::Sockets::count_subscribers)); it
/// serializes to JSON for the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum CountQuery {
    /// Open connections.
    Connections,
    /// Connections subscribed to `topic`.
    Subscribers {
        /// The topic.
        topic: String,
    },
}

/// What the instance holding a socket answered a [`SocketCommand`].
pub type CommandFuture = BoxFuture<'static, Result<bool, PubSubError>>;

/// What the other instances counted: the sum of their counts.
pub type CountFuture = BoxFuture<'static, Result<usize, PubSubError>>;

/// The server a [`BackendContext`](crate::pubsub::BackendContext) holds:
/// its connections (direct sends), and remote control (runs a command on a
/// socket of this instance, counts on this instance).
pub(crate) trait LocalControl: Send + Sync {
    /// The connections of this instance.
    fn connections(&self) -> &ConnectionRegistry;

    /// Runs `command` on `socket` if it is connected here: `None` if it is not.
    fn run(
        self: Arc<Self>,
        socket: SocketId,
        command: SocketCommand,
    ) -> BoxFuture<'static, Option<Result<(), PubSubError>>>;

    /// `query`, counted on this instance.
    fn count(&self, query: &CountQuery) -> usize;

    /// How the app keeps `topic`'s history, if it does.
    fn retention(&self, topic: &str) -> Option<crate::pubsub::Retention>;
}

/// The error of a backend without [`Capability::RemoteControl`](crate::pubsub::Capability::RemoteControl).
pub(crate) fn unsupported() -> PubSubError {
    PubSubError::Unsupported("remote control (`Capability::RemoteControl`)")
}

/// An `Arc` of the server's side, as the weak handle a [`BackendContext`](crate::pubsub::BackendContext) keeps.
pub(crate) fn weak<T: LocalControl + 'static>(control: &Arc<T>) -> std::sync::Weak<dyn LocalControl> {
    let weak: std::sync::Weak<T> = Arc::downgrade(control);
    weak
}
