//! Per-thread scratch buffers: memory per worker thread, not per connection
//! or per message.

use std::cell::RefCell;
use std::thread::LocalKey;

/// A thread's scratch buffer (declare it with `thread_local!`).
pub(crate) type Scratch = LocalKey<RefCell<Vec<u8>>>;

/// Runs `f` with the thread's buffer `scratch`, empty; afterwards gives its
/// memory back if it grew past `keep` bytes (one large message must not pin
/// that much per thread). Re-entered (say, a `Serialize` impl that encodes a
/// message of its own), the inner call gets a fresh buffer instead.
pub(crate) fn with_scratch<R>(
    scratch: &'static Scratch,
    keep: usize,
    f: impl FnOnce(&mut Vec<u8>) -> R,
) -> R {
    scratch.with(|cell| {
        let Ok(mut buffer) = cell.try_borrow_mut() else {
            return f(&mut Vec::new());
        };
        buffer.clear();
        let result = f(&mut buffer);
        if buffer.capacity() > keep {
            *buffer = Vec::new();
        }
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }

    #[test]
    fn a_nested_call_gets_a_buffer_of_its_own() {
        let outer = with_scratch(&BUFFER, 1024, |outer| {
            outer.extend_from_slice(b"outer");
            let inner = with_scratch(&BUFFER, 1024, |inner| {
                inner.extend_from_slice(b"inner");
                inner.clone()
            });
            assert_eq!(inner, b"inner");
            outer.clone()
        });
        assert_eq!(outer, b"outer");
    }
}
