//! [`RawMessage`]: one complete WebSocket message as it came, text or bytes,
//! for handlers that speak their own format instead of ori's envelopes.

use bytes::Bytes;

/// One complete message (fragments reassembled), text or binary, as the peer
/// sent it. Raw handlers receive it ([`RawWebSocket::on_message`](crate::RawWebSocket::on_message),
/// [`Ori::on_raw_message`](crate::Ori::on_raw_message)) and may return one to send back.
///
/// ```
/// use ori::RawMessage;
///
/// let text = RawMessage::from("hello");
/// assert_eq!(text.as_text(), Some("hello"));
/// let binary = RawMessage::from(vec![0xde, 0xad]);
/// assert!(binary.is_binary());
/// assert_eq!(binary.as_bytes(), &[0xde, 0xad]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawMessage {
    /// A text message (valid UTF-8: the server closes with 1007 otherwise).
    Text(String),
    /// A binary message.
    Binary(Bytes),
}

impl RawMessage {
    /// The payload's bytes, text or binary.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            RawMessage::Text(text) => text.as_bytes(),
            RawMessage::Binary(bytes) => bytes,
        }
    }

    /// The text, if this is a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            RawMessage::Text(text) => Some(text),
            RawMessage::Binary(_) => None,
        }
    }

    /// Whether this is a binary message.
    pub fn is_binary(&self) -> bool {
        matches!(self, RawMessage::Binary(_))
    }

    /// Size of the payload in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<String> for RawMessage {
    fn from(text: String) -> Self {
        RawMessage::Text(text)
    }
}

impl From<&str> for RawMessage {
    fn from(text: &str) -> Self {
        RawMessage::Text(text.to_owned())
    }
}

impl From<Bytes> for RawMessage {
    fn from(bytes: Bytes) -> Self {
        RawMessage::Binary(bytes)
    }
}

impl From<Vec<u8>> for RawMessage {
    fn from(bytes: Vec<u8>) -> Self {
        RawMessage::Binary(bytes.into())
    }
}

impl From<&[u8]> for RawMessage {
    fn from(bytes: &[u8]) -> Self {
        RawMessage::Binary(Bytes::copy_from_slice(bytes))
    }
}
