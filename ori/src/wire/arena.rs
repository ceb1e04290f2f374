//! Per-thread memory for reply frames. A reply goes to one connection, which
//! usually writes it at once and drops it, so its frame is cut from a chunk
//! that the thread's replies share instead of allocated on its own: a reply
//! costs no allocation, and a chunk is used again once every frame cut from it
//! is gone (`bytes` counts them).

use std::cell::RefCell;

use bytes::BytesMut;

/// The size of a chunk: about 60 replies of 130 bytes.
const CHUNK: usize = 8 * 1024;

/// Larger frames get memory of their own: a few would use a chunk up. (A
/// reply that has to wait for a slow reader is copied out of its chunk as it
/// is queued: `MessageIo::queue_replies`.)
const LARGEST: usize = CHUNK / 8;

thread_local! {
    /// What is left of the thread's current chunk (empty: only its capacity
    /// counts). Pieces are cut off its front.
    static LEFT: RefCell<BytesMut> = RefCell::new(BytesMut::new());
}

/// An empty buffer with room for `capacity` bytes: a piece of the thread's
/// chunk, or memory of its own when `capacity` is large.
pub(crate) fn piece(capacity: usize) -> BytesMut {
    if capacity > LARGEST {
        return BytesMut::with_capacity(capacity);
    }
    LEFT.with(|cell| {
        let Ok(mut left) = cell.try_borrow_mut() else {
            return BytesMut::with_capacity(capacity);
        };
        if left.capacity() < capacity {
            // Reuses the chunk in place when no frame cut from it is alive,
            // and allocates a new one otherwise.
            left.reserve(CHUNK);
        }
        let rest = left.split_off(capacity);
        std::mem::replace(&mut *left, rest)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_share_a_chunk_and_the_chunk_comes_back() {
        let mut a = piece(100);
        a.extend_from_slice(b"first");
        let mut b = piece(100);
        b.extend_from_slice(b"second");
        assert_eq!(a.capacity(), 100);
        // Cut from one chunk, one after the other.
        assert_eq!(b.as_ptr() as usize - a.as_ptr() as usize, 100);
        let (a, b) = (a.freeze(), b.freeze());
        assert_eq!((&a[..], &b[..]), (&b"first"[..], &b"second"[..]));
        let start = a.as_ptr();
        drop((a, b));
        // Use the rest of the chunk up: with nothing cut from it alive, the
        // next piece starts at its beginning again.
        while LEFT.with_borrow(|left| left.capacity()) >= 100 {
            drop(piece(100));
        }
        assert_eq!(piece(100).as_ptr(), start);
    }

    #[test]
    fn a_chunk_still_in_use_is_left_alone() {
        let mut kept = piece(100);
        kept.extend_from_slice(b"kept");
        let kept = kept.freeze();
        while LEFT.with_borrow(|left| left.capacity()) >= 100 {
            drop(piece(100));
        }
        let next = piece(100);
        assert_ne!(next.as_ptr(), kept.as_ptr());
        assert_eq!(&kept[..], b"kept");
    }

    #[test]
    fn large_frames_get_memory_of_their_own() {
        let large = piece(LARGEST + 1);
        assert!(large.capacity() > LARGEST);
        let small = piece(10);
        assert!(!(large.as_ptr()..large.as_ptr().wrapping_add(large.capacity())).contains(&small.as_ptr()));
    }
}
