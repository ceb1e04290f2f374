//! Random bytes from the operating system, fetched in batches, and the
//! hexadecimal tokens made of them.

use std::cell::RefCell;

/// Random bytes for 64 ids, refilled with one `getrandom` call.
const BATCH: usize = 16 * 64;

thread_local! {
    static RANDOM: RefCell<([u8; BATCH], usize)> = const { RefCell::new(([0; BATCH], BATCH)) };
}

/// 16 bytes from the operating system's CSPRNG, fetched 64 ids at a time
/// (a connect storm should not make one syscall per connection for its id).
pub(crate) fn random_bytes() -> [u8; 16] {
    RANDOM.with(|cell| {
        let (buffer, used) = &mut *cell.borrow_mut();
        if *used == BATCH {
            getrandom::fill(buffer).expect("the operating system's random source is available");
            *used = 0;
        }
        let bytes: [u8; 16] = buffer[*used..*used + 16].try_into().expect("16 bytes");
        buffer[*used..*used + 16].fill(0);
        *used += 16;
        bytes
    })
}

/// `bytes` in lowercase hexadecimal.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The bytes of hexadecimal `hex` (either case); `None` if it is not.
#[cfg(feature = "nats")]
pub(crate) fn unhex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

/// A random token of 16 hexadecimal digits (a history's epoch).
pub(crate) fn random_token() -> String {
    hex(&random_bytes()[..8])
}
