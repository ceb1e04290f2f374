//! [`SocketMessage`]: a typed server push `{"type": TYPE, "data": self}`.

use serde::Serialize;

/// A message type the server pushes to clients, serialized as
/// `{"type": Self::TYPE, "data": <self>}`.
///
/// ```
/// #[derive(serde::Serialize)]
/// struct StatusChanged { id: u32, status: &'static str }
///
/// impl ori::SocketMessage for StatusChanged {
///     const TYPE: &'static str = "monitor.statusChanged";
/// }
///
/// let m = ori::Outbound::message(&StatusChanged { id: 7, status: "up" }).unwrap();
/// assert_eq!(m.payload(), br#"{"type":"monitor.statusChanged","data":{"id":7,"status":"up"}}"#);
/// ```
pub trait SocketMessage: Serialize {
    /// The message's `type` on the wire.
    const TYPE: &'static str;
}
