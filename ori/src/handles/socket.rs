//! [`Socket`] (a handle to one connection) and [`SocketContext`] (the same,
//! typed by the connection state a handler needs).

use std::any::{Any, TypeId};
use std::ops::Deref;
use std::sync::Arc;

use crate::connection::core::ConnectionCore;
use crate::connection::outbox::CloseRequest;
use crate::connection::socket_id::SocketId;
use crate::error::PubSubError;
use crate::handles::app_context::AppContext;
use crate::handles::sockets::{Sockets, publish, typed};
use crate::protocol::{Outbound, SocketError, SocketMessage};
use crate::pubsub::{Position, PresenceRead, Recovery, Retention, Subscribed, Subscriber};
use crate::telemetry;
use crate::util::sync::lock;

/// A handle to one connection. Cheap to clone; stays valid after the
/// connection closes (operations then fail with [`PubSubError::Closed`]).
#[derive(Clone)]
pub struct Socket {
    core: Arc<ConnectionCore>,
    app: AppContext,
}

impl Socket {
    pub(crate) fn new(core: Arc<ConnectionCore>, app: AppContext) -> Socket {
        Socket { core, app }
    }

    pub(crate) fn core(&self) -> &Arc<ConnectionCore> {
        &self.core
    }

    /// The connection's id (a UUID v4 assigned by the server).
    pub fn id(&self) -> SocketId {
        self.core.id
    }

    /// The subprotocol negotiated at the upgrade (`Sec-WebSocket-Protocol`),
    /// if the client asked for one.
    pub fn subprotocol(&self) -> Option<&str> {
        self.core.subprotocol()
    }

    /// The application context.
    pub fn app(&self) -> &AppContext {
        &self.app
    }

    /// Server-level pub/sub (publishing there does not exclude this connection).
    pub fn sockets(&self) -> &Sockets {
        self.app.sockets()
    }

    /// The connection's state of type `T`: from the upgrade handler or a
    /// connection guard, or set since by a handler ([`set_state`](Self::set_state))
    /// or a re-authentication. `()` is always there.
    pub fn try_state<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.core.states.get::<T>()
    }

    /// Sets the connection's state of type `T`, replacing the one there (a
    /// guard's, the upgrade handler's, or one set before). Messages of this
    /// connection dispatched from now on see it (`SocketContext<T>`,
    /// [`try_state`](Self::try_state)); those already running keep theirs.
    ///
    /// ```
    /// # async fn f(socket: ori::Socket) {
    /// #[derive(Clone)]
    /// struct Nickname(String);
    ///
    /// socket.set_state(Nickname("ada".into()));
    /// assert_eq!(socket.try_state::<Nickname>().unwrap().0, "ada");
    /// # }
    /// ```
    pub fn set_state<T: Send + Sync + 'static>(&self, value: T) {
        self.core.states.set(value);
    }

    /// Changes the connection's state of type `T` in place (a copy is
    /// changed, then replaces it, so handlers already running keep what they
    /// read); `false` when the connection has no such state. Two updates never
    /// lose each other's change.
    ///
    /// ```
    /// # async fn f(socket: ori::Socket) {
    /// #[derive(Clone)]
    /// struct Visits(u32);
    ///
    /// socket.set_state(Visits(0));
    /// socket.update_state(|v: &mut Visits| v.0 += 1);
    /// assert_eq!(socket.try_state::<Visits>().unwrap().0, 1);
    /// # }
    /// ```
    pub fn update_state<T: Clone + Send + Sync + 'static>(&self, change: impl FnOnce(&mut T)) -> bool {
        self.core.states.update(change)
    }

    /// Subscribes this connection to `topic`. Resolves once messages published
    /// to the topic from any server instance reach this connection.
    /// Subscribing twice is one subscription.
    ///
    /// Fails on an invalid topic name, past the subscription limit, or when
    /// the connection is closed. (Reserved `__` topics are refused only to
    /// clients' `subscribe` control messages, not to server code.)
    pub async fn subscribe(&self, topic: &str) -> Result<(), PubSubError> {
        match self.register(topic, false)? {
            Registration::Already => Ok(()),
            Registration::New(_, live) => self.until_live(topic, live).await,
        }
    }

    /// A client's `subscribe`: joins `topic`; on a topic that keeps history,
    /// reads where it stands and, for a new subscription, what was missed
    /// since `since`; with `presence`, starts the topic's presence diffs and
    /// reads its state. What is new comes back closed ([`Joined`]): its live
    /// messages wait until the acknowledgement, the replay and the state are
    /// queued. If the presence cannot be read, there is no subscription.
    pub(crate) async fn join(
        &self,
        topic: &str,
        since: Option<&Position>,
        presence: bool,
    ) -> Result<Joined, PubSubError> {
        let shared = self.app.shared();
        let retention = shared.history.retention(topic);
        let opening = match self.register(topic, retention.is_some() || presence)? {
            Registration::Already => None,
            Registration::New(subscriber, live) => {
                self.until_live(topic, live).await?;
                Some(subscriber)
            }
        };
        let recovery = match retention {
            None => None,
            // An existing subscription already had what it missed.
            Some(retention) => self.recover(topic, since.filter(|_| opening.is_some()), retention).await,
        };
        let watch = if presence {
            match self.watch(topic).await {
                Ok(watch) => watch,
                Err(e) => {
                    if opening.is_some() {
                        self.unsubscribe(topic);
                    }
                    return Err(e);
                }
            }
        } else {
            None
        };
        Ok(Joined { opening, recovery, watch })
    }

    /// Where `topic`'s history stands, and what to replay after `since`;
    /// `None` when the backend cannot read it now.
    async fn recover(&self, topic: &str, since: Option<&Position>, retention: Retention) -> Option<Recovery> {
        match self.app.shared().pubsub.read_history(topic, since, retention).await {
            Ok(read) => Some(Recovery::decide(since, read)),
            Err(error) => {
                // Subscribed for live delivery all the same; the client is
                // told it did not recover, and learns positions from messages.
                tracing::warn!(%error, topic, "could not read the topic's history; subscribed without a position");
                None
            }
        }
    }

    /// Starts `topic`'s presence diffs for this connection (subscribed to
    /// it) and reads the state they follow; `None` if it gets them already.
    async fn watch(&self, topic: &str) -> Result<Option<(Subscriber, PresenceRead)>, PubSubError> {
        let pubsub = &self.app.shared().pubsub;
        let watcher = Subscriber::gated(self.core.clone());
        {
            let mut subs = lock(&self.core.subscriptions);
            if subs.closed {
                return Err(PubSubError::Closed);
            }
            if !subs.is_subscribed(topic) || !subs.watch(topic) {
                return Ok(None);
            }
            pubsub.watch_presence(topic, &watcher);
        }
        match pubsub.presence(topic).await {
            Ok(read) => Ok(Some((watcher, read))),
            Err(e) => {
                if lock(&self.core.subscriptions).unwatch(topic) {
                    pubsub.unwatch_presence(topic, self.core.id);
                }
                Err(e)
            }
        }
    }

    /// Records the subscription and registers `topic`'s subscriber with
    /// the backend (one whose live messages wait, if `gated`).
    fn register(&self, topic: &str, gated: bool) -> Result<Registration, PubSubError> {
        PubSubError::check_topic(topic)?;
        let mut subs = lock(&self.core.subscriptions);
        if subs.closed {
            return Err(PubSubError::Closed);
        }
        if subs.is_subscribed(topic) {
            return Ok(Registration::Already);
        }
        let limit = self.core.max_subscriptions as usize;
        if subs.topic_count() >= limit {
            return Err(PubSubError::TooManySubscriptions { limit });
        }
        subs.add_topic(topic);
        let core = self.core.clone();
        let subscriber = if gated { Subscriber::gated(core) } else { Subscriber::new(core) };
        let live = self.app.shared().pubsub.subscribe(topic, &subscriber);
        Ok(Registration::New(subscriber, live))
    }

    /// Waits until the subscription is live everywhere; if it cannot be,
    /// there is no subscription.
    async fn until_live(&self, topic: &str, live: Subscribed) -> Result<(), PubSubError> {
        if let Err(e) = live.await {
            self.unsubscribe(topic);
            return Err(e);
        }
        Ok(())
    }

    /// Leaves `topic` (and its presence diffs); returns whether the
    /// connection was subscribed.
    pub fn unsubscribe(&self, topic: &str) -> bool {
        let mut subs = lock(&self.core.subscriptions);
        let pubsub = &self.app.shared().pubsub;
        if subs.unwatch(topic) {
            pubsub.unwatch_presence(topic, self.core.id);
        }
        let removed = subs.remove_topic(topic);
        if removed {
            pubsub.unsubscribe(topic, self.core.id);
        }
        removed
    }

    /// The topics this connection has joined.
    pub fn topics(&self) -> Vec<String> {
        lock(&self.core.subscriptions).topics().map(str::to_owned).collect()
    }

    /// Publishes `message` as-is to every subscriber of `topic` except this
    /// connection (on a history topic: a JSON object, delivered with its
    /// position; see [`Sockets::publish`]).
    pub fn publish(&self, topic: &str, message: impl Into<Outbound>) -> Result<(), PubSubError> {
        publish(self.app.shared(), topic, &message.into(), Some(self.core.id))
    }

    /// Publishes `{"type": M::TYPE, "data": message}` to `topic`, except this connection.
    pub fn emit<M: SocketMessage>(&self, topic: &str, message: &M) -> Result<(), PubSubError> {
        self.publish(topic, typed(message)?)
    }

    /// Sends `message` as-is to this connection.
    pub fn send(&self, message: impl Into<Outbound>) -> Result<(), PubSubError> {
        let message = message.into();
        if !self.core.push_outbound(&message) {
            return Err(PubSubError::Closed);
        }
        if let Some(telemetry) = telemetry::get() {
            telemetry.sent_directly(message.payload().len());
        }
        Ok(())
    }

    /// Sends `{"type": M::TYPE, "data": message}` to this connection.
    pub fn send_message<M: SocketMessage>(&self, message: &M) -> Result<(), PubSubError> {
        self.send(typed(message)?)
    }

    /// Closes the connection with `code` (1000, or an application code in
    /// 3000..=4999) after what is already queued has been written.
    /// A code that may not be sent on the wire is replaced by 1000.
    pub fn close(&self, code: u16, reason: &str) {
        let code = if matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999) {
            code
        } else {
            tracing::warn!(code, "close code may not be sent on the wire; using 1000");
            1000
        };
        self.core.outbox.request_close(CloseRequest::App { code, reason: reason.to_owned() });
    }

    /// Whether the connection is closing or closed.
    pub fn is_closed(&self) -> bool {
        self.core.outbox.is_closed()
    }
}

/// What [`Socket::register`] did.
enum Registration {
    /// The connection had joined the topic already.
    Already,
    /// A new subscriber, and the backend's word on when it is live.
    New(Subscriber, Subscribed),
}

/// A client's subscription, made by [`Socket::join`].
pub(crate) struct Joined {
    /// A new subscription whose live messages wait: queue its first
    /// messages with [`Subscriber::open`]. `None` when nothing waits (the
    /// topic keeps no history, or the connection had joined it already).
    pub(crate) opening: Option<Subscriber>,
    /// Where a history topic stands, and what to replay.
    pub(crate) recovery: Option<Recovery>,
    /// New presence diffs, waiting: queue the state first with
    /// [`Subscriber::open`] at the state's version.
    pub(crate) watch: Option<(Subscriber, PresenceRead)>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket").field("id", &self.core.id).finish()
    }
}

/// What a socket handler receives: the connection ([`Socket`], via `Deref`)
/// and its typed connection state `S` (produced by a connection guard or the
/// upgrade handler; `()` when the handler needs none).
///
/// ```
/// # #[derive(Clone)] struct User { name: String }
/// async fn whoami(ctx: ori::SocketContext<User>) -> Result<String, ori::SocketError> {
///     Ok(format!("{} on {}", ctx.state().name, ctx.id()))
/// }
/// ```
pub struct SocketContext<S = ()> {
    socket: Socket,
    /// The state as it was when the message was dispatched; `None` for `()`
    /// (no lookup and no allocation for handlers that need no state).
    state: Option<Arc<S>>,
}

impl<S: Send + Sync + 'static> SocketContext<S> {
    /// Wraps `socket` with its current state `S`; fails (`internal`) if the
    /// connection has none, which start-up validation rules out.
    pub fn from_socket(socket: Socket) -> Result<Self, SocketError> {
        if TypeId::of::<S>() == TypeId::of::<()>() {
            return Ok(SocketContext { socket, state: None });
        }
        match socket.try_state::<S>() {
            Some(state) => Ok(SocketContext { socket, state: Some(state) }),
            None => {
                tracing::error!(state = std::any::type_name::<S>(), "connection has no such state");
                Err(SocketError::internal())
            }
        }
    }

    /// The connection state, as it was when this message was dispatched.
    pub fn state(&self) -> &S {
        match &self.state {
            Some(state) => state,
            None => (&() as &dyn Any).downcast_ref::<S>().expect("only `()` has no stored state"),
        }
    }

    /// Replaces the connection's state `S`: [`state`](Self::state) returns
    /// the new one from now on, and so do the connection's next messages.
    /// (For a state of another type, see [`Socket::set_state`].)
    ///
    /// ```
    /// # #[derive(Clone)] struct Visits(u32);
    /// async fn visit(mut ctx: ori::SocketContext<Visits>) -> u32 {
    ///     let next = ctx.state().0 + 1;
    ///     ctx.replace_state(Visits(next));
    ///     ctx.state().0
    /// }
    /// ```
    pub fn replace_state(&mut self, value: S) {
        if TypeId::of::<S>() != TypeId::of::<()>() {
            self.state = Some(self.socket.core.states.set(value));
        }
    }

    /// The untyped socket handle.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }
}

impl<S> Deref for SocketContext<S> {
    type Target = Socket;

    fn deref(&self) -> &Socket {
        &self.socket
    }
}

impl<S> Clone for SocketContext<S> {
    fn clone(&self) -> Self {
        SocketContext { socket: self.socket.clone(), state: self.state.clone() }
    }
}

impl<S> std::fmt::Debug for SocketContext<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketContext")
            .field("id", &self.socket.id())
            .field("state", &std::any::type_name::<S>())
            .finish()
    }
}
