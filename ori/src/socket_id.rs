//! [`SocketId`]: the server-assigned identity of one connection.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

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
    /// A fresh random id.
    pub fn new() -> SocketId {
        SocketId(Uuid::new_v4())
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
