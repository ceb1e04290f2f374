//! The packet one instance publishes to the others through a broker (a
//! Redis channel, a NATS subject): a fixed header (who sent it, whom it
//! excludes or targets) and the message, once, as is.
//!
//! ```text
//! 0      1      2              18             34
//! | 0xC1 | kind | instance (16) | socket (16) | payload (UTF-8 text, or bytes) ...
//! ```
//! `kind` 1 is a topic publish (`socket`: the excluded sender, or zeros),
//! 2 a direct send (`socket`: the target), 3 a publish on a history topic,
//! whose payload starts with `<epoch>\n<offset>\n` (written by the append
//! script, see `history.rs`), 4 a presence diff, whose payload starts with
//! `<version>\n` (written by the presence scripts); 5 a command for
//! `socket` (remote control), 6 a count, both asked of every instance on
//! the direct channel, and 7 an answer to one of them, on the asker's own
//! reply channel (their payloads: `control.rs`); with bit 0x80 set the
//! message is binary, else text (UTF-8, checked on arrival).

use crate::connection::socket_id::SocketId;
use crate::protocol::Outbound;

const MAGIC: u8 = 0xC1;
const HEADER: usize = 34;
const BINARY: u8 = 0x80;

/// What a packet asks of the receiving instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Deliver to the topic's local subscribers, except `socket`.
    Publish,
    /// Deliver to `socket` if it is connected here.
    Direct,
    /// Deliver to the topic's local subscribers, except `socket`, at its
    /// position; sent by the history script, to every instance (the
    /// publisher's included).
    Kept,
    /// Deliver a presence diff to the topic's local watchers; sent by the
    /// presence scripts, to every instance.
    Presence,
    /// Run a command on `socket` if it is connected here, and answer.
    Command,
    /// Count something here, and answer.
    Count,
    /// An answer to a command or a count this instance asked.
    Answer,
}

/// A decoded packet.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Packet {
    pub(crate) kind: Kind,
    pub(crate) instance: [u8; 16],
    pub(crate) socket: Option<SocketId>,
    /// The epoch and offset of a [`Kind::Kept`] packet; the version (and
    /// an empty epoch) of a [`Kind::Presence`] one.
    pub(crate) position: Option<(String, u64)>,
    pub(crate) message: Outbound,
}

/// Encodes a packet.
pub(crate) fn encode(
    kind: Kind,
    instance: &[u8; 16],
    socket: Option<SocketId>,
    message: &Outbound,
) -> Vec<u8> {
    let payload = message.payload();
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.push(MAGIC);
    let kind = match kind {
        Kind::Publish => 1,
        Kind::Direct => 2,
        Kind::Kept => 3,
        Kind::Presence => 4,
        Kind::Command => 5,
        Kind::Count => 6,
        Kind::Answer => 7,
    };
    out.push(if message.is_binary() { kind | BINARY } else { kind });
    out.extend_from_slice(instance);
    out.extend_from_slice(&socket.map_or([0u8; 16], |id| *id.as_uuid().as_bytes()));
    out.extend_from_slice(payload);
    out
}

/// Decodes a packet; `None` for anything else (another program's message).
pub(crate) fn decode(bytes: &[u8]) -> Option<Packet> {
    if bytes.len() < HEADER || bytes[0] != MAGIC {
        return None;
    }
    let binary = bytes[1] & BINARY != 0;
    let kind = match bytes[1] & !BINARY {
        1 => Kind::Publish,
        2 => Kind::Direct,
        3 if !binary => Kind::Kept,
        4 if !binary => Kind::Presence,
        5 if !binary => Kind::Command,
        6 if !binary => Kind::Count,
        7 if !binary => Kind::Answer,
        _ => return None,
    };
    let instance: [u8; 16] = bytes[2..18].try_into().ok()?;
    let socket: [u8; 16] = bytes[18..34].try_into().ok()?;
    let socket = (socket != [0; 16]).then(|| SocketId::from(uuid::Uuid::from_bytes(socket)));
    if matches!(kind, Kind::Direct | Kind::Command) && socket.is_none() {
        return None;
    }
    let mut payload = &bytes[HEADER..];
    let mut position = None;
    if kind == Kind::Kept {
        let mut fields = payload.splitn(3, |&b| b == b'\n');
        let epoch = std::str::from_utf8(fields.next()?).ok()?.to_owned();
        let offset = std::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
        payload = fields.next()?;
        position = Some((epoch, offset));
    } else if kind == Kind::Presence {
        let mut fields = payload.splitn(2, |&b| b == b'\n');
        let version = std::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
        payload = fields.next()?;
        position = Some((String::new(), version));
    }
    let message =
        if binary { Outbound::binary(payload) } else { Outbound::text(std::str::from_utf8(payload).ok()?) };
    Some(Packet { kind, instance, socket, position, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_junk() {
        let instance = [7u8; 16];
        let socket = SocketId::new();
        let bytes =
            encode(Kind::Publish, &instance, Some(socket), &Outbound::text(r#"{"type":"x","data":1}"#));
        assert_eq!(bytes.len(), HEADER + 21);
        let packet = decode(&bytes).unwrap();
        assert_eq!(
            packet,
            Packet {
                kind: Kind::Publish,
                instance,
                socket: Some(socket),
                position: None,
                message: Outbound::text(r#"{"type":"x","data":1}"#)
            }
        );
        let binary = encode(Kind::Publish, &instance, None, &Outbound::binary(&[0xff, 0, 1]));
        assert_eq!(decode(&binary).unwrap().message, Outbound::binary(&[0xff, 0, 1]));
        let direct = encode(Kind::Direct, &instance, Some(socket), &Outbound::text("{}"));
        assert_eq!(decode(&direct).unwrap().kind, Kind::Direct);
        let no_exclude = encode(Kind::Publish, &instance, None, &Outbound::text("{}"));
        assert_eq!(decode(&no_exclude).unwrap().socket, None);

        // What the append script sends: the header, then the position, then the message.
        let mut kept = encode(Kind::Kept, &instance, None, &Outbound::text(""));
        kept.extend_from_slice(b"e1\n42\n{\"a\":\"x\\ny\"}");
        let packet = decode(&kept).unwrap();
        assert_eq!(packet.position, Some(("e1".to_owned(), 42)));
        assert_eq!(packet.message, Outbound::text(r#"{"a":"x\ny"}"#));
        let mut no_offset = encode(Kind::Kept, &instance, None, &Outbound::text(""));
        no_offset.extend_from_slice(b"e1\n{}");
        assert_eq!(decode(&no_offset), None);

        assert_eq!(decode(b"hello from another program"), None);
        assert_eq!(decode(&[]), None);
        let mut bad_kind = bytes.clone();
        bad_kind[1] = 9;
        assert_eq!(decode(&bad_kind), None);
        let mut not_utf8 = bytes;
        not_utf8.push(0xff);
        assert_eq!(decode(&not_utf8), None);
        assert_eq!(
            decode(&encode(Kind::Direct, &instance, None, &Outbound::text("{}"))),
            None,
            "a direct send needs a target"
        );
    }
}
