//! [`ClientError`]: why a client call failed, and what to do about it.

use std::fmt;

/// Why a [`Client`](super::Client) call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientError {
    /// The server refused the WebSocket upgrade with this HTTP status (401:
    /// the upgrade handler said no, e.g. a missing token). Not retried.
    Refused {
        /// The HTTP status.
        status: u16,
    },
    /// The server closed the connection while opening it (1008: a connection
    /// guard said no). Not retried.
    Rejected {
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// The server could not be reached, or the WebSocket handshake failed.
    Connect(String),
    /// `wss://`: the server's certificate was not accepted (expired, for
    /// another name, from an unknown CA), the server does not speak TLS, or
    /// TLS is not available (the feature `tls`). Not retried.
    Tls(String),
    /// The server answered with an error envelope.
    Server {
        /// The error code (`bad_request`, `forbidden`, or the application's own).
        code: String,
        /// The server's message.
        message: String,
        /// The error's structured details (`SocketError::with_details`), if
        /// any; read them typed with [`ClientError::details`].
        details: Option<serde_json::Value>,
    },
    /// No reply within the request timeout.
    Timeout,
    /// The connection dropped after the request was sent; it is not sent
    /// again (it may or may not have run).
    Disconnected,
    /// The outgoing queue is full (the client is disconnected, or the server
    /// reads slower than the application sends).
    QueueFull {
        /// The configured bound.
        limit: usize,
    },
    /// The client is closed: [`Client::close`](super::Client::close) was
    /// called, or reconnecting gave up.
    Closed,
    /// The request's data could not be serialized.
    Encode(String),
    /// A listener fell more than the event capacity behind and missed messages.
    Lagged {
        /// How many it missed.
        missed: u64,
    },
    /// A reply or message did not match the expected type.
    Decode {
        /// The message type.
        message_type: String,
        /// What serde said.
        error: String,
    },
}

impl ClientError {
    /// The details of a server error as a `T`: `None` when the error is not
    /// from the server or has no details, `Some(Err(..))` when they are not
    /// a `T`.
    ///
    /// ```
    /// use ori::client::ClientError;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct RoomFull { capacity: u32 }
    ///
    /// let error = ClientError::Server {
    ///     code: "room_full".into(),
    ///     message: "the room is full".into(),
    ///     details: Some(serde_json::json!({"capacity": 8})),
    /// };
    /// assert_eq!(error.details::<RoomFull>().unwrap().unwrap().capacity, 8);
    /// ```
    pub fn details<T: serde::de::DeserializeOwned>(&self) -> Option<Result<T, serde_json::Error>> {
        match self {
            ClientError::Server { details: Some(details), .. } => Some(T::deserialize(details)),
            _ => None,
        }
    }

    /// Whether the server refused this client (HTTP refusal or guard): trying
    /// again with the same credentials will not help.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            ClientError::Refused { .. } | ClientError::Rejected { code: 1008, .. } | ClientError::Tls(_)
        )
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Refused { status: 401 } => f.write_str(
                "the server refused the upgrade with HTTP 401: check the credentials (token, headers)",
            ),
            ClientError::Refused { status: 404 } => f.write_str(
                "the server refused the upgrade with HTTP 404: no WebSocket endpoint at this path \
                 (an ori server's is at /ws unless it chose another)",
            ),
            ClientError::Refused { status } => write!(f, "the server refused the upgrade with HTTP {status}"),
            ClientError::Rejected { code, reason } => {
                write!(f, "the server closed the connection while opening it ({code}")?;
                if !reason.is_empty() {
                    write!(f, ": {reason}")?;
                }
                f.write_str(")")?;
                if *code == 1008 {
                    f.write_str("; a connection guard refused these credentials")?;
                }
                Ok(())
            }
            ClientError::Connect(error) => write!(f, "cannot connect: {error}"),
            ClientError::Tls(error) => write!(
                f,
                "TLS: {error} (check the server's certificate, or give its CA with `ClientBuilder::tls_root_pem`)"
            ),
            ClientError::Server { code, message, .. } => write!(f, "server error `{code}`: {message}"),
            ClientError::Timeout => f.write_str("no reply within the request timeout"),
            ClientError::Disconnected => {
                f.write_str("the connection dropped after the request was sent; it may or may not have run")
            }
            ClientError::QueueFull { limit } => write!(
                f,
                "the outgoing queue is full ({limit} messages): wait for the connection, or raise `max_queued`"
            ),
            ClientError::Closed => f.write_str("the client is closed"),
            ClientError::Lagged { missed } => write!(
                f,
                "this listener fell behind and missed {missed} messages: read faster, or raise `event_capacity`"
            ),
            ClientError::Encode(error) => write!(f, "the data could not be serialized: {error}"),
            ClientError::Decode { message_type, error } => {
                write!(f, "`{message_type}` did not match the expected type: {error}")
            }
        }
    }
}

impl std::error::Error for ClientError {}
