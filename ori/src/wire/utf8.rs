//! [`Utf8Stream`]: UTF-8 validation of a text message that arrives in
//! pieces (fragments, or parts of one frame as the socket delivers them), so
//! that an invalid byte fails the connection when it arrives, not when the
//! message completes (RFC 6455 section 8.1, "fail fast").

/// The state between two pieces: the bytes of a character not yet complete.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Utf8Stream {
    pending: [u8; 4],
    len: u8,
}

impl Utf8Stream {
    /// Takes the next piece; `false` as soon as the bytes so far cannot
    /// begin valid UTF-8.
    pub(crate) fn feed(&mut self, mut data: &[u8]) -> bool {
        if self.len > 0 {
            let need = sequence_len(self.pending[0]);
            while usize::from(self.len) < need && !data.is_empty() {
                self.pending[usize::from(self.len)] = data[0];
                self.len += 1;
                data = &data[1..];
            }
            match std::str::from_utf8(&self.pending[..usize::from(self.len)]) {
                Ok(_) => self.len = 0,
                // Still a valid start of a character; `data` is used up.
                Err(e) if e.error_len().is_none() => return true,
                Err(_) => return false,
            }
        }
        match std::str::from_utf8(data) {
            Ok(_) => true,
            Err(e) if e.error_len().is_none() => {
                let tail = &data[e.valid_up_to()..];
                self.pending[..tail.len()].copy_from_slice(tail);
                self.len = tail.len() as u8;
                true
            }
            Err(_) => false,
        }
    }

    /// Whether the pieces so far end on a character boundary.
    pub(crate) fn is_complete(&self) -> bool {
        self.len == 0
    }
}

/// Length of the sequence a (valid) lead byte starts.
fn sequence_len(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every split of each input into three pieces agrees with `from_utf8`
    /// on the whole, and an invalid input fails at the piece holding the
    /// first byte that makes it invalid.
    #[test]
    fn agrees_with_std_at_every_split() {
        let inputs: [&[u8]; 9] = [
            "κόσμε".as_bytes(),
            "a€𝄞b".as_bytes(),
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
            b"\xf4\x90\x80\x80",
            b"\xc0\xaf",
            b"\xe0\x80\xaf",
            b"ab\xf0\x9f\x98",
            b"\xff",
            b"",
        ];
        for input in inputs {
            let whole = std::str::from_utf8(input);
            let fails_at = whole.as_ref().err().and_then(|e| e.error_len().map(|_| e.valid_up_to()));
            for a in 0..=input.len() {
                for b in a..=input.len() {
                    let mut stream = Utf8Stream::default();
                    let pieces = [&input[..a], &input[a..b], &input[b..]];
                    let mut fed = 0;
                    let mut failed_after = None;
                    for piece in pieces {
                        fed += piece.len();
                        if !stream.feed(piece) {
                            failed_after = Some(fed);
                            break;
                        }
                    }
                    match (fails_at, failed_after) {
                        (None, None) => {
                            assert_eq!(stream.is_complete(), whole.is_ok(), "{input:?} at {a},{b}")
                        }
                        // Fails in the piece that holds the offending bytes, no later.
                        (Some(at), Some(after)) => assert!(after > at, "{input:?} at {a},{b}"),
                        other => panic!("{input:?} split at {a},{b}: {other:?}"),
                    }
                }
            }
        }
    }
}
