//! The fast path of envelope parsing: a message of the usual shape, read with
//! a few byte comparisons instead of serde's visitor machinery.
//!
//! "The usual shape" is an object whose keys and `type`/`correlationId`
//! strings hold no escapes, without duplicate keys. `data` (and any other
//! key's value) is still parsed by serde_json, so it is validated exactly as
//! before. Anything else returns `None`, and [`parse`](super::envelope::parse)
//! reads the message the thorough way, which also words the error: this path
//! never decides that a message is bad, so it cannot disagree with the other
//! about what an error says.

use std::borrow::Cow;

use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use super::envelope::{CorrelationId, Envelope, Key};
use super::escapes::first_special;
use super::names::type_len;

/// Reads `text` if it has the usual shape and is valid; `None` otherwise.
pub(super) fn parse(text: &str) -> Option<Envelope<'_>> {
    let mut scan = Scanner { text, pos: 0 };
    scan.expect(b'{')?;
    let (mut message_type, mut data, mut correlation_id) = (None, None, None);
    loop {
        let key = scan.key()?;
        scan.expect(b':')?;
        match key {
            Key::Type if message_type.is_none() => message_type = Some(scan.type_str()?),
            Key::CorrelationId if correlation_id.is_none() => correlation_id = Some(scan.plain_str()?),
            Key::Data if data.is_none() => data = Some(scan.value::<&RawValue>()?),
            Key::Type | Key::CorrelationId | Key::Data => return None,
            Key::Other => {
                scan.value::<IgnoredAny>()?;
            }
        }
        match scan.next_non_space()? {
            b',' => continue,
            b'}' => break,
            _ => return None,
        }
    }
    if scan.next_non_space().is_some() {
        return None;
    }
    let message_type = message_type?;
    let correlation_id = match correlation_id {
        None => None,
        Some(id) => Some(CorrelationId::plain(id)?),
    };
    Some(Envelope {
        message_type: Cow::Borrowed(message_type),
        data: data.unwrap_or(RawValue::NULL),
        correlation_id,
    })
}

struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    /// Moves past JSON whitespace.
    fn skip_space(&mut self) {
        let bytes = self.text.as_bytes();
        while matches!(bytes.get(self.pos), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.pos += 1;
        }
    }

    /// The next byte that is not JSON whitespace, consumed.
    fn next_non_space(&mut self) -> Option<u8> {
        self.skip_space();
        let byte = *self.text.as_bytes().get(self.pos)?;
        self.pos += 1;
        Some(byte)
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.next_non_space()? == byte).then_some(())
    }

    /// A key: one of the envelope's three, compared as they are written
    /// (quotes included, so `"types"` is another key), or any other plain
    /// string.
    fn key(&mut self) -> Option<Key> {
        self.skip_space();
        let rest = &self.text.as_bytes()[self.pos..];
        for (quoted, key) in [
            (&b"\"type\""[..], Key::Type),
            (b"\"data\"", Key::Data),
            (b"\"correlationId\"", Key::CorrelationId),
        ] {
            if rest.starts_with(quoted) {
                self.pos += quoted.len();
                return Some(key);
            }
        }
        self.plain_str().map(|_| Key::Other)
    }

    /// A string that is a valid message type (so holds nothing to escape),
    /// checked as it is read.
    fn type_str(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.pos;
        let len = type_len(&self.text.as_bytes()[start..])?;
        if self.text.as_bytes().get(start + len) != Some(&b'"') {
            return None;
        }
        self.pos = start + len + 1;
        // ASCII name characters, then a quote: on character boundaries.
        Some(&self.text[start..start + len])
    }

    /// A string without escapes or control characters (which need the
    /// thorough path): its contents, which are then exactly its value.
    fn plain_str(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.pos;
        let end = start + first_special(&self.text.as_bytes()[start..])?;
        if self.text.as_bytes()[end] != b'"' {
            return None;
        }
        self.pos = end + 1;
        // `start` and `end` sit next to ASCII quotes, so on character boundaries.
        Some(&self.text[start..end])
    }

    /// One JSON value, parsed and validated by serde_json.
    fn value<T: serde::Deserialize<'a>>(&mut self) -> Option<T> {
        let rest = &self.text[self.pos..];
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<T>();
        let value = values.next()?.ok()?;
        self.pos += values.byte_offset();
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{MAX_CORRELATION_ID_LEN, MAX_TYPE_LEN};

    #[test]
    fn reads_the_usual_shape() {
        let env = parse(r#" { "type" : "a.b" , "data" : {"x":[1,"]"]} , "correlationId":"c1" } "#).unwrap();
        assert_eq!((&*env.message_type, env.data.get()), ("a.b", r#"{"x":[1,"]"]}"#));
        assert_eq!(env.correlation_id.unwrap().as_str(), "c1");
        let env = parse(r#"{"data":7,"extra":{"deep":[null]},"type":"t"}"#).unwrap();
        assert_eq!((&*env.message_type, env.data.get()), ("t", "7"));
        assert!(env.correlation_id.is_none());
        assert_eq!(parse(r#"{"type":"t"}"#).unwrap().data.get(), "null");
        // Keys that begin like the envelope's are other keys.
        let env = parse(r#"{"types":1,"datax":[2],"correlationIdx":"y","type":"t"}"#).unwrap();
        assert_eq!((&*env.message_type, env.data.get()), ("t", "null"));
        assert!(env.correlation_id.is_none());
        let longest = "t".repeat(MAX_TYPE_LEN);
        assert_eq!(parse(&format!(r#"{{"type":"{longest}"}}"#)).unwrap().message_type, longest);
        let long = "é".repeat(MAX_CORRELATION_ID_LEN);
        let text = format!(r#"{{"type":"t","correlationId":"{long}"}}"#);
        assert_eq!(parse(&text).unwrap().correlation_id.unwrap().as_str(), long);
    }

    /// Everything unusual or invalid is left to the thorough path.
    #[test]
    fn leaves_the_rest_to_the_thorough_path() {
        let long = "x".repeat(MAX_CORRELATION_ID_LEN + 1);
        for text in [
            "",
            "{",
            "[]",
            "{}",
            r#"{"type":"a\u0062"}"#,
            r#"{"ty\u0070e":"a"}"#,
            r#"{"type":"a","correlationId":"x\"y"}"#,
            r#"{"type":"a","type":"a"}"#,
            r#"{"type":"a","data":1,"data":1}"#,
            r#"{"type":"a","data":{"#,
            r#"{"type":"a","data":tru}"#,
            r#"{"type":"a","data":1x}"#,
            r#"{"type":"a","extra":[1,]}"#,
            r#"{"type":"a",}"#,
            r#"{"type":"a"} x"#,
            r#"{"type":"a"}}"#,
            r#"{"type":null}"#,
            r#"{"type":5}"#,
            r#"{"type":"a b"}"#,
            r#"{"type":""}"#,
            &format!(r#"{{"type":"{}"}}"#, "t".repeat(MAX_TYPE_LEN + 1)),
            "{\"type\":\"a\u{1}\"}",
            r#"{"type":"a","correlationId":7}"#,
            &format!(r#"{{"type":"a","correlationId":"{long}"}}"#),
        ] {
            assert!(parse(text).is_none(), "{text}");
        }
    }
}
