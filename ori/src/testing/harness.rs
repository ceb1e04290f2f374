//! [`Harness`]: an app built as the server builds it, run in process.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;

use crate::builder::ori::Ori;
use crate::connection::socket_id::SocketId;
use crate::connection::state::StateMap;
use crate::endpoint::dispatch::{Dispatched, dispatch};
use crate::endpoint::{Endpoint, lifetime};
use crate::error::Error;
use crate::handles::app_context::AppContext;
use crate::handles::socket::Socket;
use crate::wire::frame::split_frame;

/// An app built for in-process tests: no listener, no sockets.
#[derive(Clone)]
pub struct Harness {
    endpoint: Arc<Endpoint>,
}

impl Harness {
    /// Builds `app` as the server would (and starts its pub/sub provider);
    /// start-up errors are the same.
    pub async fn new(app: Ori) -> Result<Harness, Error> {
        let built = app.build()?;
        built.start_pubsub().await?;
        let endpoint = built.envelope_endpoint().ok_or_else(|| {
            Error::InvalidConfig(
                "the harness serves socket routes; add `.websocket(WebSocketConfig::default())`".into(),
            )
        })?;
        Ok(Harness { endpoint })
    }

    /// The application context (providers, server-level pub/sub).
    pub fn app(&self) -> &AppContext {
        &self.endpoint.app
    }

    /// Starts a connection. Guards do not run: give the connection the states
    /// they would produce with [`TestConnectionBuilder::state`].
    pub fn connection(&self) -> TestConnectionBuilder {
        TestConnectionBuilder { endpoint: self.endpoint.clone(), states: StateMap::default() }
    }
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness").field("app", &self.endpoint.app).finish()
    }
}

/// Builds a [`TestConnection`].
pub struct TestConnectionBuilder {
    endpoint: Arc<Endpoint>,
    states: StateMap,
}

impl TestConnectionBuilder {
    /// Attaches a connection state (what a guard or the upgrade handler would produce).
    pub fn state<T: Send + Sync + 'static>(mut self, state: T) -> Self {
        self.states.insert(Box::new(state));
        self
    }

    /// Opens the connection: it gets a socket id and joins `__broadcast__`,
    /// like a real one. The `open` lifecycle handler does not run.
    pub fn open(self) -> TestConnection {
        let (socket, subscribed) = lifetime::attach(&self.endpoint, SocketId::new(), self.states, None, None);
        // The in-process backend registers synchronously; its future has nothing left to do.
        drop(subscribed);
        TestConnection { socket, endpoint: self.endpoint }
    }
}

impl std::fmt::Debug for TestConnectionBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestConnectionBuilder").field("states", &self.states).finish()
    }
}

/// An in-process connection: send it messages as a client would, read what
/// the server pushed to it. Closed when dropped.
pub struct TestConnection {
    socket: Socket,
    endpoint: Arc<Endpoint>,
}

impl TestConnection {
    /// The connection's socket (its id, subscriptions, state).
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// Handles one message as the server would and returns the reply text
    /// (`None` when there is no reply, e.g. a `()` handler without correlationId).
    pub async fn send_text(&self, text: &str) -> Option<String> {
        let frame = match dispatch(&self.endpoint, &self.socket, text) {
            Dispatched::Done(frame) => frame,
            Dispatched::Started(work) => work.await,
            Dispatched::Reauthenticate(reauth) => {
                match reauth.run(self.endpoint.clone(), self.socket.clone()).await {
                    Ok(ack) => Some(ack),
                    Err(reason) => {
                        self.socket.close(1008, &reason);
                        None
                    }
                }
            }
        };
        frame.map(|frame| payload_text(&frame))
    }

    /// [`send_text`](Self::send_text) for JSON.
    pub async fn request(&self, message: Value) -> Option<Value> {
        let reply = self.send_text(&message.to_string()).await?;
        Some(serde_json::from_str(&reply).expect("the server sends JSON"))
    }

    /// Takes the messages pushed to this connection so far (publishes, direct
    /// sends, broadcasts), oldest first.
    pub fn received(&self) -> Vec<Value> {
        let mut frames = VecDeque::new();
        self.socket.core().outbox.drain(&mut frames, futures_util::task::noop_waker_ref());
        frames
            .iter()
            .map(|frame| serde_json::from_str(&payload_text(frame)).expect("the server sends JSON"))
            .collect()
    }
}

impl TestConnection {
    /// Discards the messages pushed so far; returns how many there were.
    pub fn clear_received(&self) -> usize {
        let mut frames = VecDeque::new();
        self.socket.core().outbox.drain(&mut frames, futures_util::task::noop_waker_ref());
        frames.len()
    }
}

impl Drop for TestConnection {
    fn drop(&mut self) {
        lifetime::detach(&self.socket);
        self.socket.core().outbox.close();
    }
}

impl std::fmt::Debug for TestConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestConnection").field("id", &self.socket.id()).finish()
    }
}

/// The text of a server frame (the frame minus its header).
fn payload_text(frame: &Bytes) -> String {
    let (_, _, payload) = split_frame(frame);
    std::str::from_utf8(payload).expect("the server sends UTF-8").to_owned()
}
