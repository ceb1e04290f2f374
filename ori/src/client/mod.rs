//! [`Client`]: a reconnecting WebSocket client speaking ori's protocol, for
//! Rust services and tests (feature `client`).
//!
//! ```no_run
//! use ori::client::{Client, ClientEvent};
//!
//! # async fn demo() -> Result<(), ori::client::ClientError> {
//! let client = Client::builder("ws://127.0.0.1:3000/ws").query("token", "secret").connect().await?;
//! let mut events = client.events();
//! client.subscribe("room:1").await?;
//! let pong: serde_json::Value = client.request("ping", &()).await?;
//! while let Some(Ok(event)) = events.recv().await {
//!     if let ClientEvent::Message(push) = event {
//!         println!("{}: {}", push.message_type(), push.raw_data());
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! Behaviour, in short:
//! - [`connect`](ClientBuilder::connect) succeeds once the server has
//!   accepted the connection (upgrade handler and connection guards passed:
//!   the client pings and waits for the pong); a refusal is an error, never
//!   retried.
//! - After a drop the client reconnects with exponential backoff and jitter,
//!   to the next of its URLs when it has [fallbacks](ClientBuilder::fallback_url),
//!   joins again every topic it subscribed to, and only then writes what was
//!   queued meanwhile, in order. A refusal (HTTP 401/403, close 1008) ends it.
//! - Requests carry a generated `correlationId`. A request already written
//!   when the connection drops fails with [`ClientError::Disconnected`] (it is
//!   not sent twice: it may have run); one still queued is sent after the
//!   reconnection. Either way the request timeout bounds the wait.
//! - The first listener made ([`events`](Client::events) or [`on`](Client::on))
//!   sees everything since the connection opened, including what the server
//!   pushes on open; later listeners see what happens after they are made.

mod builder;
mod credentials;
mod driver;
mod error;
mod event;
mod presence;
#[cfg(feature = "tls")]
mod tls;
mod topics;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio::sync::{Notify, broadcast, oneshot, watch};

pub use self::builder::ClientBuilder;
use self::builder::Config;
pub use self::credentials::Credentials;
pub use self::error::ClientError;
pub use self::event::{ClientEvent, ConnectionState, Events, PresenceChanges, ServerPush, Subscription};
pub use self::presence::PresenceChange;
use self::presence::PresenceMaps;
use self::topics::Topics;
pub use self::topics::{SubscribeOptions, Subscribed};
use crate::endpoint::reauth::REAUTHENTICATE;
use crate::handles::presence::Presence;
use crate::protocol::push::SocketMessage;
use crate::pubsub::Position;
use crate::util::sync::lock;

/// A connection to an ori server that survives drops. Cheap to clone; the
/// connection closes when the last clone is dropped or [`close`](Client::close)
/// is called.
#[derive(Clone, Debug)]
pub struct Client {
    handle: Arc<Handle>,
}

/// Owned by the clones of one client; closes the connection when dropped.
#[derive(Debug)]
struct Handle {
    shared: Arc<Shared>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.request_close();
    }
}

/// What the client's callers and its connection task share.
pub(crate) struct Shared {
    config: Config,
    /// Messages waiting to be written, in order.
    outbox: Mutex<VecDeque<Outgoing>>,
    /// Wakes the connection task: something to write, or a close.
    wake: Notify,
    /// Requests waiting for their reply, by correlation id.
    pending: Mutex<HashMap<u64, Waiter>>,
    /// Topics joined through this client, in order, joined again on
    /// reconnect from the last position seen.
    topics: Mutex<Topics>,
    /// The presence of the topics joined with it.
    presence: Mutex<PresenceMaps>,
    state: watch::Sender<ConnectionState>,
    events: broadcast::Sender<ClientEvent>,
    /// The listener made before the connection opened, for the first caller.
    first_listener: Mutex<Option<broadcast::Receiver<ClientEvent>>>,
    next_id: AtomicU64,
    /// A close was requested (or the client gave up): no new work.
    closing: watch::Sender<bool>,
    /// What `reauthenticate` replaced, for every reconnection.
    credentials: Mutex<Credentials>,
    /// The index in `config.urls` of the URL connected to (or tried last).
    url_index: AtomicUsize,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.url())
            .field("state", &*self.state.borrow())
            .finish_non_exhaustive()
    }
}

/// One message to write.
pub(crate) struct Outgoing {
    text: String,
    /// The request it belongs to, if any.
    request: Option<u64>,
}

/// A request's reply slot.
struct Waiter {
    reply: oneshot::Sender<Result<Box<RawValue>, ClientError>>,
    /// Written to the connection (fails with `Disconnected` if it drops).
    sent: bool,
}

#[derive(Serialize)]
struct Envelope<'a, D: ?Sized> {
    #[serde(rename = "type")]
    message_type: &'a str,
    data: &'a D,
    #[serde(rename = "correlationId", skip_serializing_if = "Option::is_none")]
    correlation_id: Option<&'a str>,
}

fn encode<D: Serialize + ?Sized>(
    message_type: &str,
    data: &D,
    correlation_id: Option<&str>,
) -> Result<String, ClientError> {
    serde_json::to_string(&Envelope { message_type, data, correlation_id })
        .map_err(|e| ClientError::Encode(e.to_string()))
}

impl Client {
    /// Settings for a client of `url` (`ws://host:port/ws`).
    pub fn builder(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(url)
    }

    /// Connects to `url` with the default settings (see [`ClientBuilder::connect`]).
    pub async fn connect(url: impl Into<String>) -> Result<Client, ClientError> {
        Client::builder(url).connect().await
    }

    pub(crate) async fn start(config: Config) -> Result<Client, ClientError> {
        let (events, first) = broadcast::channel(config.event_capacity);
        let shared = Arc::new(Shared {
            outbox: Mutex::new(VecDeque::new()),
            wake: Notify::new(),
            pending: Mutex::new(HashMap::new()),
            topics: Mutex::new(Topics::default()),
            presence: Mutex::new(PresenceMaps::default()),
            state: watch::Sender::new(ConnectionState::Connecting),
            events,
            first_listener: Mutex::new(Some(first)),
            next_id: AtomicU64::new(1),
            closing: watch::Sender::new(false),
            credentials: Mutex::new(Credentials::new()),
            url_index: AtomicUsize::new(0),
            config,
        });
        let ws = driver::open_first(&shared).await?;
        shared.state.send_replace(ConnectionState::Open);
        shared.emit(ClientEvent::Open { reconnected: false });
        tokio::spawn(driver::run(shared.clone(), ws));
        Ok(Client { handle: Arc::new(Handle { shared }) })
    }

    fn shared(&self) -> &Shared {
        &self.handle.shared
    }

    /// Where the connection stands now.
    pub fn state(&self) -> ConnectionState {
        *self.shared().state.borrow()
    }

    /// A receiver of every state change, to wait for one.
    pub fn state_changes(&self) -> watch::Receiver<ConnectionState> {
        self.shared().state.subscribe()
    }

    /// A listener of this client's events (see the module docs for which
    /// events a listener sees).
    pub fn events(&self) -> Events {
        let first = lock(&self.shared().first_listener).take();
        Events::new(first.unwrap_or_else(|| self.shared().events.subscribe()))
    }

    /// Typed pushes of `M` (`M::TYPE` messages, `data` decoded as `M`).
    ///
    /// ```no_run
    /// # use serde::{Deserialize, Serialize};
    /// #[derive(Serialize, Deserialize, ori::SocketMessage)]
    /// #[message(type = "monitor.statusChanged")]
    /// struct StatusChanged { id: u32, status: String }
    ///
    /// # async fn demo(client: ori::client::Client) {
    /// let mut changes = client.on::<StatusChanged>();
    /// while let Some(Ok(change)) = changes.recv().await {
    ///     println!("{} is {}", change.id, change.status);
    /// }
    /// # }
    /// ```
    pub fn on<M: SocketMessage + DeserializeOwned>(&self) -> Subscription<M> {
        Subscription::new(self.events())
    }

    /// Sends `{"type": message_type, "data": data}` without waiting for a
    /// reply (queued while disconnected).
    pub fn send<D: Serialize + ?Sized>(&self, message_type: &str, data: &D) -> Result<(), ClientError> {
        let text = encode(message_type, data, None)?;
        self.shared().enqueue(Outgoing { text, request: None })
    }

    /// Sends a request and waits for its reply's `data` as `R`; an error
    /// envelope is [`ClientError::Server`].
    pub async fn request<D, R>(&self, message_type: &str, data: &D) -> Result<R, ClientError>
    where
        D: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let raw = self.request_raw(message_type, data).await?;
        serde_json::from_str(raw.get())
            .map_err(|e| ClientError::Decode { message_type: message_type.to_owned(), error: e.to_string() })
    }

    /// Like [`request`](Client::request), returning the reply's `data` as JSON text.
    pub async fn request_raw<D: Serialize + ?Sized>(
        &self,
        message_type: &str,
        data: &D,
    ) -> Result<Box<RawValue>, ClientError> {
        let shared = self.shared();
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        let text = encode(message_type, data, Some(&id.to_string()))?;
        let (reply, receiver) = oneshot::channel();
        lock(&shared.pending).insert(id, Waiter { reply, sent: false });
        if let Err(error) = shared.enqueue(Outgoing { text, request: Some(id) }) {
            lock(&shared.pending).remove(&id);
            return Err(error);
        }
        match tokio::time::timeout(shared.config.request_timeout, receiver).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(ClientError::Closed),
            Err(_) => {
                lock(&shared.pending).remove(&id);
                Err(ClientError::Timeout)
            }
        }
    }

    /// Re-authenticates the connection (PROTOCOL.md, "Re-authentication"):
    /// the server runs its connection guards again on the upgrade request
    /// with `credentials` replacing the query parameters and headers of the
    /// same names, and every reconnection from now on sends them too. `Ok`
    /// once the guards admitted them; a refusal closes the connection with
    /// 1008 (this returns [`ClientError::Closed`]).
    ///
    /// ```no_run
    /// # async fn f(client: ori::client::Client) -> Result<(), ori::client::ClientError> {
    /// use ori::client::Credentials;
    /// client.reauthenticate(Credentials::new().query("token", "fresh-token")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn reauthenticate(&self, credentials: Credentials) -> Result<(), ClientError> {
        self.request_raw(REAUTHENTICATE, &credentials).await?;
        lock(&self.shared().credentials).merge(&credentials);
        Ok(())
    }

    /// Joins `topic`; once this returns, messages published to it arrive as
    /// pushes. The client joins it again after every reconnection (from
    /// the last position it saw, on a topic that keeps history).
    pub async fn subscribe(&self, topic: &str) -> Result<(), ClientError> {
        self.subscribe_with(topic, SubscribeOptions::new()).await.map(drop)
    }

    /// Joins `topic` with options: presence (the client then keeps the
    /// topic's members, [`presence`](Client::presence)), and a position to
    /// recover from. Returns the acknowledgement: on a topic that keeps
    /// history, its epoch and offset, and whether the client recovered.
    ///
    /// After each reconnection the client joins again from the last
    /// position it saw, and reports [`ClientEvent::Recovered`]; a message is
    /// never delivered twice.
    ///
    /// ```no_run
    /// use ori::client::{Client, ClientEvent, SubscribeOptions};
    ///
    /// # async fn demo(client: Client) -> Result<(), ori::client::ClientError> {
    /// let mut events = client.events();
    /// client.subscribe_with("room:1", SubscribeOptions::new().presence(true)).await?;
    /// while let Some(Ok(event)) = events.recv().await {
    ///     match event {
    ///         ClientEvent::Recovered { recovered: false, topic } => println!("refetch {topic}"),
    ///         ClientEvent::Presence(change) => println!("{change:?}"),
    ///         _ => {}
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn subscribe_with(
        &self,
        topic: &str,
        options: SubscribeOptions,
    ) -> Result<Subscribed, ClientError> {
        let data = lock(&self.shared().topics).begin(topic, &options);
        let ack = self.request::<_, Subscribed>("subscribe", &data).await;
        if ack.is_err() && !lock(&self.shared().topics).names().iter().any(|t| t == topic) {
            lock(&self.shared().topics).remove(topic);
        }
        ack
    }

    /// Leaves `topic` (and stops joining it on reconnection).
    pub async fn unsubscribe(&self, topic: &str) -> Result<(), ClientError> {
        lock(&self.shared().topics).remove(topic);
        lock(&self.shared().presence).remove(topic);
        let _: serde_json::Value =
            self.request("unsubscribe", &serde_json::json!({ "topic": topic })).await?;
        Ok(())
    }

    /// The topics this client has joined (and joins again on reconnection).
    pub fn topics(&self) -> Vec<String> {
        lock(&self.shared().topics).names()
    }

    /// The last position seen on `topic`, a topic that keeps history (keep
    /// it to recover across restarts: [`SubscribeOptions::since`]).
    pub fn position(&self, topic: &str) -> Option<Position> {
        lock(&self.shared().topics).position(topic)
    }

    /// Who is on `topic`, as the client keeps it (joined with presence),
    /// each meta decoded as `M`; `None` before its first `presence_state`.
    pub fn presence<M: DeserializeOwned>(&self, topic: &str) -> Result<Option<Presence<M>>, ClientError> {
        let maps = lock(&self.shared().presence);
        let Some(members) = maps.members(topic) else { return Ok(None) };
        let pairs = members
            .iter()
            .flat_map(|(key, metas)| metas.iter().map(move |meta| (key.as_str(), None, &**meta)));
        Presence::decode(pairs).map(Some).map_err(|e| ClientError::Decode {
            message_type: "presence_state".to_owned(),
            error: e.to_string(),
        })
    }

    /// Presence changes with metas decoded as `M` (joins, leaves, syncs).
    pub fn presence_changes<M: DeserializeOwned>(&self) -> PresenceChanges<M> {
        PresenceChanges::new(self.events())
    }

    /// Closes with 1000 and stops reconnecting; waits until closed. Pending
    /// requests fail with [`ClientError::Closed`].
    pub async fn close(&self) {
        self.shared().request_close();
        let mut state = self.shared().state.subscribe();
        let _ = state.wait_for(|s| *s == ConnectionState::Closed).await;
    }
}

impl Shared {
    /// Queues a message for the connection task.
    fn enqueue(&self, outgoing: Outgoing) -> Result<(), ClientError> {
        if self.is_closing() || *self.state.borrow() == ConnectionState::Closed {
            return Err(ClientError::Closed);
        }
        let mut outbox = lock(&self.outbox);
        if outbox.len() >= self.config.max_queued {
            return Err(ClientError::QueueFull { limit: self.config.max_queued });
        }
        outbox.push_back(outgoing);
        drop(outbox);
        self.wake.notify_one();
        Ok(())
    }

    fn is_closing(&self) -> bool {
        *self.closing.borrow()
    }

    /// The URL connected to (or tried last).
    fn url(&self) -> &str {
        &self.config.urls[self.url_index.load(Ordering::Relaxed) % self.config.urls.len()]
    }

    /// Moves on to the next URL (round the list) and returns it.
    fn next_url(&self) -> &str {
        let next = (self.url_index.load(Ordering::Relaxed) + 1) % self.config.urls.len();
        self.url_index.store(next, Ordering::Relaxed);
        &self.config.urls[next]
    }

    fn request_close(&self) {
        self.closing.send_replace(true);
        self.wake.notify_one();
    }

    fn emit(&self, event: ClientEvent) {
        // No listener is fine: events are for whoever listens.
        let _ = self.events.send(event);
    }
}
