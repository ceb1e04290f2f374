//! What a [`Client`](super::Client) reports: its state, its events, and the
//! messages the server pushes (raw or typed).

use std::marker::PhantomData;

use futures_util::Stream;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio::sync::broadcast;

use super::{ClientError, PresenceChange};
use crate::protocol::push::SocketMessage;

/// Where the connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// Opening the first connection.
    Connecting,
    /// Connected and accepted by the server.
    Open,
    /// Waiting to retry, or retrying; `attempt` counts from 1.
    Reconnecting {
        /// The attempt under way or next.
        attempt: u32,
    },
    /// Closed for good: by [`Client::close`](super::Client::close), a refusal,
    /// or reconnecting gave up (see [`ClientEvent::Closed`]).
    Closed,
}

/// A message the server pushed (published, emitted, or sent directly): no
/// `correlationId`.
#[derive(Debug, Clone)]
pub struct ServerPush {
    message_type: String,
    data: Box<RawValue>,
    position: Option<(String, u64)>,
}

impl ServerPush {
    pub(crate) fn new(
        message_type: String,
        data: Box<RawValue>,
        position: Option<(String, u64)>,
    ) -> ServerPush {
        ServerPush { message_type, data, position }
    }

    /// The topic and offset of a message from a topic that keeps history.
    pub fn position(&self) -> Option<(&str, u64)> {
        self.position.as_ref().map(|(topic, offset)| (topic.as_str(), *offset))
    }

    /// The message's `type`.
    pub fn message_type(&self) -> &str {
        &self.message_type
    }

    /// The message's `data`, as JSON text (`null` when absent).
    pub fn raw_data(&self) -> &RawValue {
        &self.data
    }

    /// The message's `data` as `T`.
    pub fn data<T: DeserializeOwned>(&self) -> Result<T, ClientError> {
        serde_json::from_str(self.data.get()).map_err(|e| ClientError::Decode {
            message_type: self.message_type.clone(),
            error: e.to_string(),
        })
    }
}

/// Something that happened to a [`Client`](super::Client).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ClientEvent {
    /// A connection opened and was accepted; `reconnected` after a drop.
    Open {
        /// Whether this is a reconnection.
        reconnected: bool,
    },
    /// The server pushed a message.
    Message(ServerPush),
    /// The connection dropped; the client will reconnect.
    Disconnected {
        /// The close code, if the server sent one.
        code: Option<u16>,
        /// The close reason, or what went wrong.
        reason: String,
    },
    /// A reconnection attempt starts after `delay`.
    Reconnecting {
        /// The attempt, from 1.
        attempt: u32,
        /// The wait before it.
        delay: std::time::Duration,
    },
    /// A topic that keeps history was joined again from the last position
    /// seen (after a reconnection), or its history was lost (an epoch
    /// change). `recovered: false`: messages may have been missed; refetch
    /// what you show.
    Recovered {
        /// The topic.
        topic: String,
        /// Every message missed was delivered (and none twice).
        recovered: bool,
    },
    /// The presence of a topic joined with presence changed.
    Presence(PresenceChange),
    /// A topic could not be joined again after a reconnection (the server
    /// now refuses it); it is no longer subscribed.
    SubscriptionLost {
        /// The topic.
        topic: String,
        /// The server's answer.
        error: ClientError,
    },
    /// The client is closed for good; the last event.
    Closed {
        /// The close code, if there was one.
        code: Option<u16>,
        /// Why.
        reason: String,
    },
}

/// A listener of a client's [`ClientEvent`]s, from the moment it was made.
#[derive(Debug)]
pub struct Events {
    receiver: broadcast::Receiver<ClientEvent>,
}

impl Events {
    pub(crate) fn new(receiver: broadcast::Receiver<ClientEvent>) -> Events {
        Events { receiver }
    }

    /// The next event; `Err(missed)` when this listener fell more than the
    /// event capacity behind and missed `missed` events; `None` after
    /// [`ClientEvent::Closed`] once the client is gone.
    pub async fn recv(&mut self) -> Option<Result<ClientEvent, u64>> {
        match self.receiver.recv().await {
            Ok(event) => Some(Ok(event)),
            Err(broadcast::error::RecvError::Lagged(missed)) => Some(Err(missed)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// The events as a stream.
    pub fn into_stream(self) -> impl Stream<Item = Result<ClientEvent, u64>> + Send + 'static {
        futures_util::stream::unfold(self, |mut events| async move {
            let next = events.recv().await?;
            Some((next, events))
        })
    }
}

/// Typed pushes of one [`SocketMessage`] type, from
/// [`Client::on`](super::Client::on).
#[derive(Debug)]
pub struct Subscription<M> {
    events: Events,
    message: PhantomData<fn() -> M>,
}

impl<M: SocketMessage + DeserializeOwned> Subscription<M> {
    pub(crate) fn new(events: Events) -> Subscription<M> {
        Subscription { events, message: PhantomData }
    }

    /// The next `M` pushed by the server; an error when one did not decode
    /// (or this listener fell behind); `None` once the client is closed.
    pub async fn recv(&mut self) -> Option<Result<M, ClientError>> {
        loop {
            match self.events.recv().await? {
                Ok(ClientEvent::Message(push)) if push.message_type() == M::TYPE => return Some(push.data()),
                Ok(ClientEvent::Closed { .. }) => return None,
                Ok(_) => {}
                Err(missed) => return Some(Err(ClientError::Lagged { missed })),
            }
        }
    }

    /// The messages as a stream.
    pub fn into_stream(self) -> impl Stream<Item = Result<M, ClientError>> + Send + 'static
    where
        M: Send + 'static,
    {
        futures_util::stream::unfold(self, |mut subscription| async move {
            let next = subscription.recv().await?;
            Some((next, subscription))
        })
    }
}

/// Presence changes with metas of type `M`, from
/// [`Client::presence_changes`](super::Client::presence_changes).
#[derive(Debug)]
pub struct PresenceChanges<M> {
    events: Events,
    meta: PhantomData<fn() -> M>,
}

impl<M: DeserializeOwned> PresenceChanges<M> {
    pub(crate) fn new(events: Events) -> PresenceChanges<M> {
        PresenceChanges { events, meta: PhantomData }
    }

    /// The next change; an error when a meta did not decode (or this
    /// listener fell behind); `None` once the client is closed.
    pub async fn recv(&mut self) -> Option<Result<PresenceChange<M>, ClientError>> {
        loop {
            match self.events.recv().await? {
                Ok(ClientEvent::Presence(change)) => return Some(change.decode()),
                Ok(ClientEvent::Closed { .. }) => return None,
                Ok(_) => {}
                Err(missed) => return Some(Err(ClientError::Lagged { missed })),
            }
        }
    }
}
