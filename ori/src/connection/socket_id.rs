//! [`SocketId`]: the server-assigned identity of one connection.

use std::fmt;
use std::str::FromStr;

use uuid::{Builder, Uuid};

use crate::util::random::random_bytes;

/// A connection's id: a random UUID v4 assigned by the server on upgrade.
///
/// Its first four bytes are the same for every id one process makes (its
/// *tag*, random per process), so that a backend can route a direct send to
/// the instance holding the socket (as NATS does, on
/// `<prefix>.direct.<tag>`) without a directory; the other 90 random bits
/// keep ids unguessable.
///
/// ```
/// let id = ori::SocketId::new();
/// let parsed: ori::SocketId = id.to_string().parse().unwrap();
/// assert_eq!(id, parsed);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId(Uuid);

impl SocketId {
    /// A fresh random id (UUID v4, from the operating system's CSPRNG),
    /// starting with this process's tag.
    pub fn new() -> SocketId {
        let mut bytes = random_bytes();
        bytes[..4].copy_from_slice(&process_tag());
        SocketId(Builder::from_random_bytes(bytes).into_uuid())
    }

    /// The tag of the process that made this id: its first four bytes.
    #[cfg(any(feature = "nats", test))]
    pub(crate) fn tag(&self) -> [u8; 4] {
        let bytes = self.0.as_bytes();
        [bytes[0], bytes[1], bytes[2], bytes[3]]
    }

    /// The underlying UUID.
    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

/// This process's tag: the first four bytes of the ids it makes.
pub(crate) fn process_tag() -> [u8; 4] {
    static TAG: std::sync::OnceLock<[u8; 4]> = std::sync::OnceLock::new();
    *TAG.get_or_init(|| {
        let bytes = random_bytes();
        [bytes[0], bytes[1], bytes[2], bytes[3]]
    })
}

impl Default for SocketId {
    fn default() -> Self {
        SocketId::new()
    }
}

impl fmt::Display for SocketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl fmt::Debug for SocketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SocketId({})", self.0.hyphenated())
    }
}

impl FromStr for SocketId {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(SocketId)
    }
}

impl From<Uuid> for SocketId {
    fn from(uuid: Uuid) -> Self {
        SocketId(uuid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_distinct_v4_uuids() {
        let ids: std::collections::HashSet<_> = (0..1000).map(|_| SocketId::new()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|id| id.as_uuid().get_version_num() == 4));
    }

    #[test]
    fn a_process_tags_its_ids_and_the_rest_is_random() {
        let (a, b) = (SocketId::new(), SocketId::new());
        assert_eq!(a.tag(), process_tag());
        assert_eq!(b.tag(), process_tag());
        assert_ne!(a.as_uuid().as_bytes()[4..], b.as_uuid().as_bytes()[4..]);
        assert!(a.to_string().starts_with(&crate::util::random::hex(&process_tag())));
    }
}
