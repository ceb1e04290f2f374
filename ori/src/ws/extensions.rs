//! `Sec-WebSocket-Extensions` at the upgrade: permessage-deflate (RFC 7692)
//! negotiation. The server accepts the client's first valid
//! permessage-deflate offer and always answers with
//! `server_no_context_takeover; client_no_context_takeover`: each message is
//! compressed on its own both ways, so no connection keeps a compressor or
//! an LZ77 window (tens of KiB each) between messages. Offers with unknown,
//! repeated or out-of-range parameters are declined (RFC 7692 section 5);
//! other extensions are ignored.

use axum::http::{HeaderMap, HeaderValue, header};

/// What the server agreed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeflateAgreement {
    /// The window the client allows the server (`server_max_window_bits`, default 15).
    pub(crate) server_window_bits: u8,
    /// The `Sec-WebSocket-Extensions` value of the 101.
    pub(crate) response: HeaderValue,
}

/// The agreement on the first acceptable permessage-deflate offer, if any.
pub(crate) fn negotiate_deflate(headers: &HeaderMap) -> Option<DeflateAgreement> {
    headers
        .get_all(header::SEC_WEBSOCKET_EXTENSIONS)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| split_unquoted(value, ','))
        .find_map(accept_offer)
}

/// Accepts one offer (`permessage-deflate; param; param=value`) or declines it.
fn accept_offer(offer: &str) -> Option<DeflateAgreement> {
    let mut parts = split_unquoted(offer, ';').into_iter();
    if !parts.next()?.trim().eq_ignore_ascii_case("permessage-deflate") {
        return None;
    }
    let mut seen: Vec<String> = Vec::new();
    let mut server_window_bits = None;
    for param in parts {
        let (name, value) = match param.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
            None => (param.trim(), None),
        };
        let name = name.to_ascii_lowercase();
        if seen.contains(&name) {
            return None;
        }
        match (name.as_str(), value) {
            ("server_no_context_takeover" | "client_no_context_takeover", None) => {}
            ("server_max_window_bits", Some(bits)) => server_window_bits = Some(window_bits(bits)?),
            // The client can take a limit on its window; the server sets none
            // (it inflates with the largest window), so it is not echoed.
            ("client_max_window_bits", None) => {}
            ("client_max_window_bits", Some(bits)) => {
                window_bits(bits)?;
            }
            _ => return None,
        }
        seen.push(name);
    }
    let response = match server_window_bits {
        None => AGREED,
        Some(bits) => AGREED_WITH_WINDOW[usize::from(bits - 8)],
    };
    Some(DeflateAgreement {
        server_window_bits: server_window_bits.unwrap_or(15),
        response: HeaderValue::from_static(response),
    })
}

/// The 101's answers (static: nothing is formatted per upgrade), one per
/// window the client may allow the server.
const AGREED: &str = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
macro_rules! with_window {
    ($($bits:literal),*) => {
        [$(concat!(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=",
            $bits
        )),*]
    };
}
const AGREED_WITH_WINDOW: [&str; 8] = with_window!(8, 9, 10, 11, 12, 13, 14, 15);

/// A window size parameter: 8..=15, digits only (RFC 7692 section 7.1.2).
fn window_bits(value: &str) -> Option<u8> {
    if value.is_empty() || value.len() > 2 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok().filter(|bits| (8..=15).contains(bits))
}

/// Splits on `separator` outside double quotes.
fn split_unquoted(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn negotiate(values: &[&'static str]) -> Option<(u8, String)> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::SEC_WEBSOCKET_EXTENSIONS, HeaderValue::from_static(value));
        }
        negotiate_deflate(&headers).map(|a| (a.server_window_bits, a.response.to_str().unwrap().to_owned()))
    }

    const BOTH: &str = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

    #[test]
    fn accepts_the_first_valid_offer() {
        assert_eq!(negotiate(&[]), None);
        // What browsers send.
        assert_eq!(negotiate(&["permessage-deflate; client_max_window_bits"]), Some((15, BOTH.into())));
        assert_eq!(
            negotiate(&["permessage-deflate; server_max_window_bits=10, permessage-deflate"]),
            Some((10, format!("{BOTH}; server_max_window_bits=10")))
        );
        assert_eq!(negotiate(&["x-webkit-deflate-frame", "permessage-deflate"]), Some((15, BOTH.into())));
        assert_eq!(
            negotiate(&[r#"permessage-deflate; client_max_window_bits="12"; server_no_context_takeover"#]),
            Some((15, BOTH.into())),
            "quoted values are allowed"
        );
    }

    #[test]
    fn declines_offers_with_bad_parameters() {
        for bad in [
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=+9",
            "permessage-deflate; client_max_window_bits=0x9",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; mystery",
            "permessage-deflate;;",
            "deflate-frame",
        ] {
            assert_eq!(negotiate(&[bad]), None, "{bad}");
        }
        assert_eq!(
            negotiate(&["permessage-deflate; mystery, permessage-deflate; server_max_window_bits=9"]),
            Some((9, format!("{BOTH}; server_max_window_bits=9"))),
            "a declined offer falls back to the next"
        );
    }
}
