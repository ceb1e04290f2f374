//! The server's own errors: [`Error`] stops the server from starting;
//! [`PubSubError`] comes back from pub/sub calls. (What travels to the
//! client is PROTOCOL.md's error object, [`SocketError`].)

use std::fmt;

use crate::connection::socket_id::SocketId;
use crate::protocol::SocketError;
use crate::protocol::names::{NameError, validate_topic};

/// Boxed error used where the concrete type does not matter (guards, providers).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a pub/sub call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PubSubError {
    /// The topic name breaks the protocol's rules.
    InvalidTopic {
        /// The topic as given.
        topic: String,
        /// What is wrong with it.
        reason: NameError,
    },
    /// The topic is reserved for the server (`__*`) and clients may not join it.
    ReservedTopic(String),
    /// The connection already has the maximum number of subscriptions.
    TooManySubscriptions {
        /// The configured limit.
        limit: usize,
    },
    /// The topic authorizer refused the topic.
    Forbidden(String),
    /// The connection is closed.
    Closed,
    /// No connection with this socket id is known.
    UnknownSocket(SocketId),
    /// A message could not be serialized.
    Serialize(String),
    /// The pub/sub backend failed (e.g. Redis unreachable).
    Backend(String),
    /// The topic keeps history, and the message is not what may be kept
    /// there: a JSON object (or a MessagePack map) without top-level `topic`
    /// or `offset` keys.
    NotPositionable {
        /// The history topic.
        topic: String,
        /// What the message is instead.
        reason: String,
    },
    /// The instance that holds the socket could not run the command there
    /// ([`Sockets::subscribe_socket`](crate::Sockets::subscribe_socket), ...);
    /// the text is that instance's error.
    Remote(String),
    /// The pub/sub backend cannot do this (it lacks the named capability,
    /// e.g. `history`).
    Unsupported(&'static str),
    /// A presence meta is larger than the limit (its JSON, in bytes).
    MetaTooLarge {
        /// The meta's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A presence member key that is empty or too long.
    InvalidPresenceKey {
        /// The key's length, in bytes.
        len: usize,
        /// The longest allowed.
        limit: usize,
    },
    /// A presence meta is not of the type asked for.
    MetaMismatch {
        /// The topic.
        topic: String,
        /// What did not deserialize.
        reason: String,
    },
    /// `update` of a presence that is not tracked.
    NotTracked {
        /// The topic.
        topic: String,
        /// The member key.
        key: String,
    },
}

impl fmt::Display for PubSubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PubSubError::InvalidTopic { topic, reason } => {
                let shown: String = topic.chars().take(64).collect();
                write!(f, "invalid topic `{shown}`: a topic {reason}")
            }
            PubSubError::ReservedTopic(topic) => {
                write!(f, "topic `{topic}` is reserved for the server (names beginning with `__`)")
            }
            PubSubError::TooManySubscriptions { limit } => {
                write!(f, "subscription limit of {limit} reached; unsubscribe from a topic first")
            }
            PubSubError::Forbidden(topic) => write!(f, "not allowed to subscribe to `{topic}`"),
            PubSubError::Closed => f.write_str("the connection is closed"),
            PubSubError::UnknownSocket(id) => write!(f, "no connection with socket id {id}"),
            PubSubError::Serialize(e) => write!(f, "could not serialize the message: {e}"),
            PubSubError::Backend(e) => write!(f, "the pub/sub backend failed: {e}"),
            PubSubError::Remote(e) => write!(f, "the instance that holds the socket refused: {e}"),
            PubSubError::NotPositionable { topic, reason } => write!(
                f,
                "topic `{topic}` keeps history, so what is published on it must be a JSON object \
                 (or a MessagePack map) without top-level `topic` or `offset` keys: {reason}"
            ),
            PubSubError::MetaTooLarge { size, limit } => write!(
                f,
                "the presence meta is {size} bytes of JSON, over the limit of {limit}; track less (an id, a status)"
            ),
            PubSubError::InvalidPresenceKey { len, limit } => {
                write!(f, "a presence member key must be 1 to {limit} bytes long, not {len}")
            }
            PubSubError::MetaMismatch { topic, reason } => {
                write!(f, "a presence meta on `{topic}` is not of the type asked for: {reason}")
            }
            PubSubError::NotTracked { topic, key } => {
                write!(f, "`{key}` is not tracked on `{topic}` by this connection; track it first")
            }
            PubSubError::Unsupported(capability) => {
                write!(f, "the pub/sub backend does not support {capability}; choose a backend that does")
            }
        }
    }
}

impl std::error::Error for PubSubError {}

impl PubSubError {
    /// `Ok` for a topic name that keeps PROTOCOL.md's rules, else
    /// [`PubSubError::InvalidTopic`] naming it: what every pub/sub call
    /// checks before it touches the backend.
    pub(crate) fn check_topic(topic: &str) -> Result<(), PubSubError> {
        validate_topic(topic).map_err(|reason| PubSubError::InvalidTopic { topic: topic.to_owned(), reason })
    }
}

impl From<PubSubError> for SocketError {
    fn from(e: PubSubError) -> Self {
        match e {
            PubSubError::InvalidTopic { .. }
            | PubSubError::NotPositionable { .. }
            | PubSubError::MetaTooLarge { .. }
            | PubSubError::InvalidPresenceKey { .. } => SocketError::bad_request(e.to_string()),
            PubSubError::ReservedTopic(_)
            | PubSubError::TooManySubscriptions { .. }
            | PubSubError::Forbidden(_) => SocketError::forbidden(e.to_string()),
            PubSubError::Unsupported(_) => SocketError::unsupported(e.to_string()),
            PubSubError::Closed
            | PubSubError::UnknownSocket(_)
            | PubSubError::Serialize(_)
            | PubSubError::Backend(_)
            | PubSubError::Remote(_)
            | PubSubError::NotTracked { .. }
            | PubSubError::MetaMismatch { .. } => SocketError::internal(),
        }
    }
}

/// Why the server could not start (or stopped with an error).
///
/// Start-up errors are found before the port is bound, and each names the
/// types or routes involved and what to do. `Debug` (what `main` prints when
/// it returns one) is the variant's name and the same sentence:
///
/// ```text
/// Error: DuplicateMessageType: message type `chat.say` is handled by both `app::ChatRouter`
/// and `app::LegacyRouter`; each type must have exactly one handler: rename one of them,
/// or name the routers to mount with `.only_socket_router::<R>()`
/// ```
#[non_exhaustive]
pub enum Error {
    /// Binding or accepting on the listening socket failed.
    Io(std::io::Error),
    /// The server could not listen on `addr`: another process listens there
    /// (any process, another ori server among them), or the system refused.
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A provider needs a dependency that nothing provides.
    MissingProvider {
        /// The missing type.
        missing: &'static str,
        /// The provider (or router, or guard) that needs it.
        required_by: &'static str,
    },
    /// Providers depend on each other in a cycle; the path starts and ends with the same type.
    DependencyCycle(Vec<&'static str>),
    /// Two providers were registered for one type.
    DuplicateProvider(&'static str),
    /// Two routes take the same message type.
    DuplicateMessageType {
        /// The message type.
        message_type: String,
        /// The router that registered it first.
        first: String,
        /// The router that registered it again.
        second: String,
    },
    /// A route's message type is invalid or reserved.
    InvalidMessageType {
        /// The message type.
        message_type: String,
        /// The router that registered it.
        router: String,
        /// What is wrong.
        reason: NameError,
    },
    /// A handler asks for connection state that no guard or upgrade handler produces.
    MissingState {
        /// The state type.
        state: &'static str,
        /// The handler that asks for it.
        handler: String,
    },
    /// Two producers (guards, upgrade handler) produce the same state type.
    DuplicateState {
        /// The state type.
        state: &'static str,
    },
    /// Discovery is on, but the binary holds no `#[socket_router]` and the
    /// app routes nothing itself: the routers' crate was most likely not
    /// linked. ([`Ori::allow_no_routers`](crate::Ori::allow_no_routers) for
    /// a pub/sub-only endpoint.)
    NoRoutersFound,
    /// The configuration is unusable.
    InvalidConfig(String),
    /// The pub/sub backend could not start (e.g. Redis unreachable; see
    /// `RedisBackendBuilder::start_degraded`).
    PubSubStart(BoxError),
    /// The TLS certificate or key could not be used (the message names the file).
    Tls(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Bind { addr, source } if source.kind() == std::io::ErrorKind::AddrInUse => write!(
                f,
                "address {addr} is in use: another process listens there; stop it, or listen on another address"
            ),
            Error::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            Error::MissingProvider { missing, required_by } => write!(
                f,
                "`{required_by}` needs `{missing}`, but nothing provides it; register it with \
                 `.provide(..)` / `.provide_value(..)` (or `#[injectable]`)"
            ),
            Error::DependencyCycle(path) => write!(
                f,
                "dependency cycle between providers: {}; break it: one of them must not take the \
                 next at construction (take `AppContext` instead and call `ctx.get::<T>()` when needed)",
                path.join(" -> ")
            ),
            Error::DuplicateProvider(ty) => {
                write!(f, "`{ty}` is provided twice; keep one, or replace it with `.override_provider(..)`")
            }
            Error::DuplicateMessageType { message_type, first, second } => write!(
                f,
                "message type `{message_type}` is handled by both `{first}` and `{second}`; \
                 each type must have exactly one handler: rename one of them, or name the \
                 routers to mount with `.only_socket_router::<R>()`"
            ),
            Error::InvalidMessageType { message_type, router, reason } => {
                write!(f, "`{router}` registers message type `{message_type}`, which {reason}")
            }
            Error::MissingState { state, handler } => write!(
                f,
                "`{handler}` asks for connection state `{state}`, but no connection guard or \
                 upgrade handler produces it for every connection that can reach it: add a guard \
                 whose `State` is `{state}` (`#[socket_router(guard = G)]` or \
                 `.connection_guard(G)`; a `guard_scope = \"router\"` guard produces it for its \
                 own router's routes only), or take `SocketContext` without state"
            ),
            Error::DuplicateState { state } => write!(
                f,
                "connection state `{state}` is produced twice (by guards or the upgrade handler); \
                 each state type must have one producer"
            ),
            Error::NoRoutersFound => f.write_str(
                "no `#[socket_router]` is linked into this binary and the app routes nothing itself, so \
                 every message would be answered `unknown_type`. If your routers live in another \
                 crate, the binary must name that crate or the linker drops them: add \
                 `use your_crate as _;` to main.rs, or mount them with \
                 `.only_socket_router::<your_crate::YourRouter>()`. For an endpoint without \
                 routes (pub/sub only), say so with `.allow_no_routers()`",
            ),
            Error::InvalidConfig(msg) => write!(f, "invalid configuration: {msg}"),
            Error::PubSubStart(e) => write!(f, "the pub/sub backend failed to start: {e}"),
            Error::Tls(msg) => write!(f, "TLS: {msg}"),
        }
    }
}

impl Error {
    /// The variant's name, for `Debug`.
    fn variant(&self) -> &'static str {
        match self {
            Error::Io(_) => "Io",
            Error::Bind { .. } => "Bind",
            Error::MissingProvider { .. } => "MissingProvider",
            Error::DependencyCycle(_) => "DependencyCycle",
            Error::DuplicateProvider(_) => "DuplicateProvider",
            Error::DuplicateMessageType { .. } => "DuplicateMessageType",
            Error::InvalidMessageType { .. } => "InvalidMessageType",
            Error::MissingState { .. } => "MissingState",
            Error::DuplicateState { .. } => "DuplicateState",
            Error::NoRoutersFound => "NoRoutersFound",
            Error::InvalidConfig(_) => "InvalidConfig",
            Error::PubSubStart(_) => "PubSubStart",
            Error::Tls(_) => "Tls",
        }
    }
}

/// `Variant: what went wrong and what to do` (the `Display` sentence), then
/// the chain of sources: readable where `main` prints it, searchable in logs.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {self}", self.variant())?;
        // The sentence already says the first source.
        let mut source = std::error::Error::source(self).and_then(std::error::Error::source);
        while let Some(error) = source {
            write!(f, "\n  caused by: {error}")?;
            source = error.source();
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Bind { source, .. } => Some(source),
            Error::PubSubStart(error) => Some(error.as_ref()),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn debug_is_the_variant_and_the_sentence_main_prints() {
        let error = Error::DuplicateMessageType {
            message_type: "chat.say".to_owned(),
            first: "app::ChatRouter".to_owned(),
            second: "app::LegacyRouter".to_owned(),
        };
        assert_eq!(
            format!("{error:?}"),
            "DuplicateMessageType: message type `chat.say` is handled by both `app::ChatRouter` and \
             `app::LegacyRouter`; each type must have exactly one handler: rename one of them, or name \
             the routers to mount with `.only_socket_router::<R>()`"
        );
        let inner = std::io::Error::other("connection refused");
        let outer = std::io::Error::other(Wrapped(inner));
        let error = Error::PubSubStart(Box::new(outer));
        assert_eq!(
            format!("{error:?}"),
            "PubSubStart: the pub/sub backend failed to start: redis unreachable\n  caused by: connection refused"
        );
    }

    #[derive(Debug)]
    struct Wrapped(std::io::Error);

    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("redis unreachable")
        }
    }

    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
}
