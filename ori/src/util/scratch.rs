//! Per-thread scratch buffers: memory per worker thread, not per connection
//! or per message.

use std::cell::RefCell;
use std::thread::LocalKey;

/// A thread's scratch buffer (declare it with `thread_local!`).
pub(crate) type Scratch = LocalKey<RefCell<Vec<u8>>>;

/// Runs `f` with the thread's buffer `scratch`, empty; afterwards gives its
/// memory back if it grew past `keep` bytes (one large message must not pin
/// that much per thread).
pub(crate) fn with_scratch<R>(
    scratch: &'static Scratch,
    keep: usize,
    f: impl FnOnce(&mut Vec<u8>) -> R,
) -> R {
    scratch.with_borrow_mut(|buffer| {
        buffer.clear();
        let result = f(buffer);
        if buffer.capacity() > keep {
            *buffer = Vec::new();
        }
        result
    })
}
