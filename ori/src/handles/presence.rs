//! Presence from the application's side (PROTOCOL.md, "Presence"): the
//! server decides who is tracked ([`Socket::track`], [`Socket::update`],
//! [`Socket::untrack`]; a connection's entries go when it closes), and asks
//! who is on a topic across every instance ([`Sockets::presence`], typed as
//! [`Presence`]).

use std::collections::BTreeMap;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::connection::socket_id::SocketId;
use crate::error::PubSubError;
use crate::handles::socket::Socket;
use crate::handles::sockets::Sockets;
use crate::protocol::names::is_reserved_topic;
use crate::pubsub::PresenceEntry;
use crate::util::sync::lock;

/// The largest presence meta, in bytes of JSON.
pub(crate) const MAX_PRESENCE_META_BYTES: usize = 1024;
/// The longest presence member key, in bytes.
pub(crate) const MAX_PRESENCE_KEY_BYTES: usize = 256;

/// Who is on a topic: member keys (sorted) to their metas (in tracking
/// order), across every instance. One key may hold several metas (one user
/// on two devices).
///
/// ```no_run
/// # async fn demo(sockets: ori::Sockets) -> Result<(), ori::PubSubError> {
/// #[derive(serde::Deserialize)]
/// struct Device { device: String }
///
/// let here: ori::Presence<Device> = sockets.presence("room:1").await?;
/// for (user, devices) in here.members() {
///     println!("{user} on {} device(s)", devices.len());
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence<M> {
    members: BTreeMap<String, Vec<M>>,
    /// The connection of each meta, in the same order.
    sockets: BTreeMap<String, Vec<SocketId>>,
}

impl<M> Default for Presence<M> {
    fn default() -> Self {
        Presence { members: BTreeMap::new(), sockets: BTreeMap::new() }
    }
}

impl<M> Presence<M> {
    /// The members of `(key, socket, meta)` entries, each meta decoded as
    /// `M` (a client knows no sockets: `None`).
    pub(crate) fn decode<'a>(
        entries: impl IntoIterator<Item = (&'a str, Option<SocketId>, &'a RawValue)>,
    ) -> Result<Presence<M>, serde_json::Error>
    where
        M: DeserializeOwned,
    {
        let mut presence = Presence::default();
        for (key, socket, meta) in entries {
            presence.members.entry(key.to_owned()).or_default().push(serde_json::from_str(meta.get())?);
            if let Some(socket) = socket {
                presence.sockets.entry(key.to_owned()).or_default().push(socket);
            }
        }
        Ok(presence)
    }

    /// Member keys to their metas.
    pub fn members(&self) -> &BTreeMap<String, Vec<M>> {
        &self.members
    }

    /// The metas of `key`, if it is a member.
    pub fn get(&self, key: &str) -> Option<&[M]> {
        self.members.get(key).map(Vec::as_slice)
    }

    /// The connections `key` is tracked from, on any instance (in the
    /// order of its metas; empty if it is not a member): what
    /// [`Sockets::disconnect`] takes to disconnect a user everywhere. Only
    /// the server sees them (`ori::client`'s presence has none).
    pub fn sockets(&self, key: &str) -> &[SocketId] {
        self.sockets.get(key).map_or(&[], Vec::as_slice)
    }

    /// Whether `key` is a member.
    pub fn contains(&self, key: &str) -> bool {
        self.members.contains_key(key)
    }

    /// How many members (keys, not metas).
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether nobody is here.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The members, owned.
    pub fn into_members(self) -> BTreeMap<String, Vec<M>> {
        self.members
    }
}

impl Socket {
    /// Tracks this connection on `topic` as the member `key` (e.g. a user
    /// id) with `meta` (e.g. `{"device": "phone"}`), on every instance:
    /// presence watchers of the topic get a join. Tracking the same key
    /// again replaces the meta ([`update`](Self::update)). The entry goes
    /// when the connection closes.
    ///
    /// Fails on an invalid topic (`bad_request` to a client) or a server
    /// topic (`__*`, `forbidden`), a key that is empty or over 256 bytes, a
    /// meta over 1 KiB of JSON, a closed connection, or a backend without
    /// presence. Nothing is tracked then.
    ///
    /// ```no_run
    /// # async fn demo(ctx: ori::SocketContext) -> Result<(), ori::PubSubError> {
    /// ctx.track("room:1", "alice", &serde_json::json!({"device": "phone"}))?;
    /// # Ok(()) }
    /// ```
    pub fn track<M: Serialize + ?Sized>(&self, topic: &str, key: &str, meta: &M) -> Result<(), PubSubError> {
        self.track_entry(topic, key, meta, false)
    }

    /// Replaces the meta this connection is tracked with as `key` on
    /// `topic`: watchers get the old meta's leave and the new one's join in
    /// one diff. [`PubSubError::NotTracked`] if it is not tracked.
    pub fn update<M: Serialize + ?Sized>(&self, topic: &str, key: &str, meta: &M) -> Result<(), PubSubError> {
        self.track_entry(topic, key, meta, true)
    }

    /// Untracks this connection as `key` on `topic` (watchers get a leave);
    /// returns whether it was tracked.
    pub fn untrack(&self, topic: &str, key: &str) -> bool {
        let mut subs = lock(&self.core().subscriptions);
        let removed = subs.untrack(topic, key);
        if removed {
            self.app().shared().pubsub.untrack(topic, key, self.id());
        }
        removed
    }

    fn track_entry<M: Serialize + ?Sized>(
        &self,
        topic: &str,
        key: &str,
        meta: &M,
        existing: bool,
    ) -> Result<(), PubSubError> {
        PubSubError::check_topic(topic)?;
        if is_reserved_topic(topic) {
            return Err(PubSubError::ReservedTopic(topic.to_owned()));
        }
        if key.is_empty() || key.len() > MAX_PRESENCE_KEY_BYTES {
            return Err(PubSubError::InvalidPresenceKey { len: key.len(), limit: MAX_PRESENCE_KEY_BYTES });
        }
        let meta =
            serde_json::value::to_raw_value(meta).map_err(|e| PubSubError::Serialize(e.to_string()))?;
        if meta.get().len() > MAX_PRESENCE_META_BYTES {
            return Err(PubSubError::MetaTooLarge { size: meta.get().len(), limit: MAX_PRESENCE_META_BYTES });
        }
        // Under the connection's lock: a close cannot slip between the
        // record and the backend's entry, so it always untracks what it finds.
        let mut subs = lock(&self.core().subscriptions);
        if subs.closed {
            return Err(PubSubError::Closed);
        }
        if existing && !subs.is_tracked(topic, key) {
            return Err(PubSubError::NotTracked { topic: topic.to_owned(), key: key.to_owned() });
        }
        let entry_is_new = subs.track(topic, key);
        let tracked = PresenceEntry { key: key.to_owned(), socket: self.id(), meta };
        let result = self.app().shared().pubsub.track(topic, tracked);
        if result.is_err() && entry_is_new {
            subs.untrack(topic, key);
        }
        result
    }
}

impl Sockets {
    /// Who is on `topic`, across every instance, each meta deserialized as `M`
    /// (`serde_json::Value` takes any). Needs no subscription.
    ///
    /// Fails on an invalid topic, a meta that is not an `M`
    /// ([`PubSubError::MetaMismatch`]), or a backend that cannot answer
    /// (without presence, or Redis unreachable).
    pub async fn presence<M: DeserializeOwned>(&self, topic: &str) -> Result<Presence<M>, PubSubError> {
        PubSubError::check_topic(topic)?;
        let read = self.shared().pubsub.presence(topic).await?;
        Presence::decode(
            read.entries.iter().map(|entry| (entry.key.as_str(), Some(entry.socket), &*entry.meta)),
        )
        .map_err(|e| PubSubError::MetaMismatch { topic: topic.to_owned(), reason: e.to_string() })
    }
}
