//! Finding the bytes a JSON string cannot hold as they are (`"`, `\` and
//! control characters), eight bytes at a time: every message's keys, `type`
//! and `correlationId` are scanned for them on the way in, and every reply's
//! on the way out.

const ONES: u64 = u64::from_le_bytes([0x01; 8]);
const HIGH: u64 = u64::from_le_bytes([0x80; 8]);

/// The high bit of each byte of `word` that is below `n` (`n <= 0x80`).
/// Bits above the first such byte may be set wrongly (a borrow carries into
/// them), so only the lowest set bit is exact.
fn bytes_below(word: u64, n: u8) -> u64 {
    word.wrapping_sub(ONES * u64::from(n)) & !word & HIGH
}

/// Whether `b` must be escaped in a JSON string.
fn is_special(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// The position of the first `"`, `\` or control character in `bytes`.
pub(crate) fn first_special(bytes: &[u8]) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let found = bytes_below(word, 0x20)
            | bytes_below(word ^ (ONES * u64::from(b'"')), 1)
            | bytes_below(word ^ (ONES * u64::from(b'\\')), 1);
        if found != 0 {
            // Little-endian: the lowest set bit is the first byte, and exact.
            return Some(offset + found.trailing_zeros() as usize / 8);
        }
        offset += 8;
    }
    chunks.remainder().iter().position(|&b| is_special(b)).map(|at| offset + at)
}

/// Whether anything in `s` must be escaped in a JSON string.
pub(crate) fn needs_escaping(s: &str) -> bool {
    first_special(s.as_bytes()).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_special_byte_in_every_position() {
        for len in 0..20 {
            let plain = "aé~".repeat(len).chars().take(len).collect::<String>();
            assert_eq!(first_special(plain.as_bytes()), None, "{plain:?}");
            for at in 0..len {
                for bad in ['"', '\\', '\n', '\u{0}', '\u{1f}'] {
                    let mut text: Vec<char> = plain.chars().collect();
                    text[at] = bad;
                    // A second special byte later must not hide the first.
                    text.push('"');
                    let text: String = text.into_iter().collect();
                    let expected = text.char_indices().nth(at).unwrap().0;
                    assert_eq!(first_special(text.as_bytes()), Some(expected), "{text:?}");
                }
            }
        }
        assert!(!needs_escaping(" !#[]\u{7f}\u{80}✓"));
        assert!(needs_escaping("tab\there"));
    }
}
