//! [`SocketId`]: the server-assigned identity of one connection.

use std::fmt;
use std::str::FromStr;

use uuid::{Builder, Uuid};

use crate::util::random::random_bytes;

/// A connection's id: a random UUID v4 assigned by the server on upgrade.
///
/// ```
/// let id = ori::SocketId::new();
/// let parsed: ori::SocketId = id.to_string().parse().unwrap();
/// assert_eq!(id, parsed);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId(Uuid);

impl SocketId {
    /// A fresh random id (UUID v4, from the operating system's CSPRNG).
    pub fn new() -> SocketId {
        SocketId(Builder::from_random_bytes(random_bytes()).into_uuid())
    }

    /// The underlying UUID.
    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
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
}
