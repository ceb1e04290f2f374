//! Guards: [`ConnectionGuard`] runs once per connection and produces typed
//! state; [`MessageGuard`] runs before each message of a guarded route.

use std::any::type_name;
use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use crate::connection::state::{AnyState, StateKey};
use crate::error::BoxError;
use crate::handles::socket::Socket;
use crate::hooks::upgrade::UpgradeRequest;

/// A guard's "no": the connection is closed with 1008 (connection guards), or
/// the message is answered with `forbidden` (message guards).
#[derive(Debug)]
pub struct Reject {
    reason: Cow<'static, str>,
    source: Option<BoxError>,
}

impl Reject {
    /// Refuses with `reason` (sent to the client as the close reason or error message).
    pub fn new(reason: impl Into<Cow<'static, str>>) -> Reject {
        Reject { reason: reason.into(), source: None }
    }

    /// The guard failed (e.g. its database is down). The client sees a generic
    /// refusal; the error is logged.
    pub fn error(error: impl Into<BoxError>) -> Reject {
        Reject { reason: Cow::Borrowed("guard failed"), source: Some(error.into()) }
    }

    /// The reason shown to the client.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The error, for a guard that failed rather than refused.
    pub fn source(&self) -> Option<&BoxError> {
        self.source.as_ref()
    }
}

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            Some(e) => write!(f, "{}: {e}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

/// Runs once per connection, after the upgrade and before any message is
/// dispatched; its `State` is attached to the connection and handed to every
/// handler that asks for `SocketContext<State>`.
///
/// Refusing (or failing, or taking longer than the guard timeout) closes the
/// connection with 1008. Guards run in the order they were added.
///
/// ```
/// use ori::{ConnectionGuard, Reject, UpgradeRequest};
///
/// #[derive(Clone)]
/// struct User { name: String }
///
/// struct TokenGuard;
///
/// impl ConnectionGuard for TokenGuard {
///     type State = User;
///     async fn check(&self, request: &UpgradeRequest) -> Result<User, Reject> {
///         match request.query("token") {
///             Some(token) if !token.is_empty() => Ok(User { name: token }),
///             _ => Err(Reject::new("a token is required")),
///         }
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(note = "implement `ori::ConnectionGuard` for `{Self}`")]
pub trait ConnectionGuard: Send + Sync + 'static {
    /// The state this guard produces (`()` if it only checks).
    type State: Send + Sync + 'static;

    /// Decides on the connection from its upgrade request (on a
    /// re-authentication, the same request with the client's new
    /// credentials: [`UpgradeRequest::is_reauthentication`]).
    fn check(&self, request: &UpgradeRequest) -> impl Future<Output = Result<Self::State, Reject>> + Send;

    /// When the credentials behind `state` stop being valid (a token's
    /// expiry), if they do. At that time the server runs the guards again on
    /// the connection's latest credentials; if they refuse, the client is
    /// asked to re-authenticate within the endpoint's grace period
    /// ([`WebSocketConfig::reauthentication`](crate::WebSocketConfig::reauthentication)),
    /// else the connection is closed with 1008. `None` (the default): never.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use ori::{ConnectionGuard, Reject, UpgradeRequest};
    ///
    /// struct Session { valid_until: SystemTime }
    /// struct SessionGuard;
    ///
    /// impl ConnectionGuard for SessionGuard {
    ///     type State = Session;
    ///     async fn check(&self, request: &UpgradeRequest) -> Result<Session, Reject> {
    ///         // A real guard reads the token's own expiry.
    ///         let _token = request.query("token").ok_or_else(|| Reject::new("a token is required"))?;
    ///         Ok(Session { valid_until: SystemTime::now() + Duration::from_secs(3600) })
    ///     }
    ///     fn expires_at(&self, session: &Session) -> Option<SystemTime> {
    ///         Some(session.valid_until)
    ///     }
    /// }
    /// ```
    fn expires_at(&self, state: &Self::State) -> Option<SystemTime> {
        let _ = state;
        None
    }
}

/// Runs before each message of a guarded route; a refusal answers `forbidden`
/// and the handler does not run.
///
/// ```
/// use ori::{MessageGuard, Reject, Socket};
///
/// struct Admin { admin: bool }
/// struct AdminGuard;
///
/// impl MessageGuard for AdminGuard {
///     async fn check(&self, socket: &Socket, _message_type: &str) -> Result<(), Reject> {
///         match socket.try_state::<Admin>() {
///             Some(a) if a.admin => Ok(()),
///             _ => Err(Reject::new("admin role required")),
///         }
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(note = "implement `ori::MessageGuard` for `{Self}`")]
pub trait MessageGuard: Send + Sync + 'static {
    /// Decides on one message.
    fn check(&self, socket: &Socket, message_type: &str) -> impl Future<Output = Result<(), Reject>> + Send;
}

impl<A: MessageGuard, B: MessageGuard> MessageGuard for (A, B) {
    async fn check(&self, socket: &Socket, message_type: &str) -> Result<(), Reject> {
        self.0.check(socket, message_type).await?;
        self.1.check(socket, message_type).await
    }
}

impl<A: MessageGuard, B: MessageGuard, C: MessageGuard> MessageGuard for (A, B, C) {
    async fn check(&self, socket: &Socket, message_type: &str) -> Result<(), Reject> {
        self.0.check(socket, message_type).await?;
        self.1.check(socket, message_type).await?;
        self.2.check(socket, message_type).await
    }
}

impl<G: MessageGuard> MessageGuard for Arc<G> {
    fn check(&self, socket: &Socket, message_type: &str) -> impl Future<Output = Result<(), Reject>> + Send {
        (**self).check(socket, message_type)
    }
}

/// A guard's verdict: the state it produced and when it expires.
pub(crate) type Admitted = (AnyState, Option<SystemTime>);

type CheckFn = dyn Fn(UpgradeRequest) -> BoxFuture<'static, Result<Admitted, Reject>> + Send + Sync;

/// A connection guard with its state type erased, as the server stores it.
pub(crate) struct ErasedConnectionGuard {
    pub(crate) name: &'static str,
    pub(crate) type_id: std::any::TypeId,
    pub(crate) state: Option<StateKey>,
    check: Box<CheckFn>,
}

impl ErasedConnectionGuard {
    pub(crate) fn new<G: ConnectionGuard>(guard: Arc<G>) -> ErasedConnectionGuard {
        ErasedConnectionGuard {
            name: type_name::<G>(),
            type_id: std::any::TypeId::of::<G>(),
            state: StateKey::of::<G::State>(),
            check: Box::new(move |request| {
                let guard = guard.clone();
                async move {
                    let state = guard.check(&request).await?;
                    let expires_at = guard.expires_at(&state);
                    Ok((Box::new(state) as AnyState, expires_at))
                }
                .boxed()
            }),
        }
    }

    pub(crate) fn check(&self, request: UpgradeRequest) -> BoxFuture<'static, Result<Admitted, Reject>> {
        (self.check)(request)
    }
}

impl std::fmt::Debug for ErasedConnectionGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionGuard").field("name", &self.name).finish()
    }
}
