//! The HTTP side of the WebSocket upgrade (RFC 6455 section 4.2).

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Why an upgrade request is not a valid WebSocket handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HandshakeError {
    /// Not an upgrade to `websocket` (HTTP 426).
    NotUpgrade,
    /// `Sec-WebSocket-Version` is not 13 (HTTP 426 with the supported version).
    Version,
    /// `Sec-WebSocket-Key` missing or malformed (HTTP 400).
    Key,
}

fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value.to_str().map(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token))).unwrap_or(false)
    })
}

/// Checks the handshake headers; returns the `Sec-WebSocket-Accept` value.
pub(crate) fn accept(headers: &HeaderMap) -> Result<HeaderValue, HandshakeError> {
    if !has_token(headers, header::UPGRADE, "websocket") || !has_token(headers, header::CONNECTION, "upgrade")
    {
        return Err(HandshakeError::NotUpgrade);
    }
    if headers.get(header::SEC_WEBSOCKET_VERSION).map(HeaderValue::as_bytes) != Some(b"13") {
        return Err(HandshakeError::Version);
    }
    let key = headers.get(header::SEC_WEBSOCKET_KEY).ok_or(HandshakeError::Key)?;
    // 16 random bytes, base64: 24 characters, which decode to at most 18.
    if STANDARD.decode_slice(key.as_bytes(), &mut [0; 18]) != Ok(16) {
        return Err(HandshakeError::Key);
    }
    let mut sha1 = sha1_smol::Sha1::new();
    sha1.update(key.as_bytes());
    sha1.update(GUID.as_bytes());
    let mut accept = [0; 28];
    STANDARD.encode_slice(sha1.digest().bytes(), &mut accept).expect("20 bytes are 28 in base64");
    Ok(HeaderValue::from_bytes(&accept).expect("base64 is a valid header value"))
}

/// Picks the subprotocol of the connection: the first of the client's
/// `Sec-WebSocket-Protocol` list (in its order of preference) that
/// `supported` holds; returns its position there. `Ok(None)`: the client
/// asked for none. `Err(())`: it asked only for subprotocols the endpoint
/// does not speak (HTTP 400: a 101 naming none of them would fail in the
/// client anyway).
pub(crate) fn negotiate_subprotocol<S: AsRef<str>>(
    headers: &HeaderMap,
    supported: &[S],
) -> Result<Option<usize>, ()> {
    let mut asked = false;
    for value in headers.get_all(header::SEC_WEBSOCKET_PROTOCOL) {
        let Ok(value) = value.to_str() else { return Err(()) };
        for token in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            asked = true;
            if let Some(found) = supported.iter().position(|s| s.as_ref() == token) {
                return Ok(Some(found));
            }
        }
    }
    if asked { Err(()) } else { Ok(None) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_example_key() {
        let mut headers = HeaderMap::new();
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("keep-alive, Upgrade"));
        headers.insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        headers.insert(header::SEC_WEBSOCKET_KEY, HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="));
        assert_eq!(accept(&headers).unwrap(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        headers.insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("8"));
        assert_eq!(accept(&headers), Err(HandshakeError::Version));
        headers.insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        for bad in [
            "short",
            "dGhlIHNhbXBsZSBub25jZQ",
            "dGhlIHNhbXBsZSBub25jZQ==dGhl",
            "dGhlIHNhbXBsZSBub25jZT0=",
            "*GhlIHNhbXBsZSBub25jZQ==",
        ] {
            headers.insert(header::SEC_WEBSOCKET_KEY, HeaderValue::from_static(bad));
            assert_eq!(accept(&headers), Err(HandshakeError::Key), "{bad}");
        }
        headers.remove(header::UPGRADE);
        assert_eq!(accept(&headers), Err(HandshakeError::NotUpgrade));
    }

    #[test]
    fn subprotocol_is_the_clients_first_supported_choice() {
        let supported = ["ori.v1.json", "ori.v1.msgpack"];
        let pick = |values: &[&'static str]| {
            let mut headers = HeaderMap::new();
            for v in values {
                headers.append(header::SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(v));
            }
            negotiate_subprotocol(&headers, &supported).map(|p| p.map(|i| supported[i].to_string()))
        };
        assert_eq!(pick(&[]), Ok(None));
        assert_eq!(pick(&["ori.v1.msgpack, ori.v1.json"]), Ok(Some("ori.v1.msgpack".into())));
        assert_eq!(pick(&["mqtt", "ori.v1.json"]), Ok(Some("ori.v1.json".into())));
        assert_eq!(pick(&[" , ori.v1.json ,"]), Ok(Some("ori.v1.json".into())));
        assert_eq!(pick(&["mqtt, ORI.V1.JSON"]), Err(()), "names are case-sensitive");
        assert_eq!(pick(&[""]), Ok(None), "an empty header asks for nothing");
    }
}
