//! [`RateLimit`]: how many messages (and bytes) a connection may send, as a
//! token bucket with a burst (PROTOCOL.md, "Rate limits"). Each connection
//! keeps its own [`Bucket`] in its driver: no lock, no atomic, no clock
//! read unless the limit is on.

use std::time::Instant;

/// A per-connection limit: `per_sec` messages a second on average, up to
/// `burst` at once; optionally bytes too. Past it a message is answered
/// `rate_limited` and not dispatched; a connection that sends more than its
/// burst of refused messages in a row is closed with 1008 `too many
/// requests`. Off by default ([`WebSocketConfig::rate_limit`](crate::WebSocketConfig::rate_limit)).
///
/// ```
/// use ori::{RateLimit, WebSocketConfig};
///
/// let config = WebSocketConfig::default()
///     .rate_limit(RateLimit::messages(100, 200).bytes(1 << 20, 4 << 20)); // 100 msg/s, 1 MiB/s
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    messages: Rate,
    bytes: Option<Rate>,
}

/// A refill rate and a bucket size.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rate {
    per_sec: f64,
    burst: f64,
}

impl RateLimit {
    /// `per_sec` messages a second, up to `burst` at once (both at least 1).
    pub fn messages(per_sec: u32, burst: u32) -> RateLimit {
        RateLimit {
            messages: Rate { per_sec: f64::from(per_sec.max(1)), burst: f64::from(burst.max(1)) },
            bytes: None,
        }
    }

    /// Also `per_sec` bytes a second, up to `burst` at once (a message larger
    /// than the burst is never let through: keep the burst above the
    /// endpoint's `max_message_size`).
    #[must_use]
    pub fn bytes(mut self, per_sec: u64, burst: u64) -> RateLimit {
        self.bytes = Some(Rate { per_sec: per_sec.max(1) as f64, burst: burst.max(1) as f64 });
        self
    }

    /// The burst of messages: refused messages in a row past it close the connection.
    pub(crate) fn burst(&self) -> u32 {
        self.messages.burst as u32
    }
}

/// What a bucket says of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Dispatch it.
    Allow,
    /// Answer `rate_limited`.
    Refuse,
    /// Close with 1008: the client went on past its burst of refusals.
    Close,
}

/// One connection's tokens.
#[derive(Debug)]
pub(crate) struct Bucket {
    limit: RateLimit,
    messages: f64,
    bytes: f64,
    at: Instant,
    refused_in_a_row: u32,
}

impl Bucket {
    /// A full bucket.
    pub(crate) fn new(limit: RateLimit) -> Bucket {
        Bucket {
            messages: limit.messages.burst,
            bytes: limit.bytes.map_or(0.0, |b| b.burst),
            at: Instant::now(),
            limit,
            refused_in_a_row: 0,
        }
    }

    /// Takes a message of `len` bytes, received `now`.
    pub(crate) fn take(&mut self, len: usize, now: Instant) -> Verdict {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.at = now;
        let limit = self.limit;
        self.messages = (self.messages + elapsed * limit.messages.per_sec).min(limit.messages.burst);
        let bytes_ok = match limit.bytes {
            Some(rate) => {
                self.bytes = (self.bytes + elapsed * rate.per_sec).min(rate.burst);
                self.bytes >= len as f64
            }
            None => true,
        };
        if self.messages >= 1.0 && bytes_ok {
            self.messages -= 1.0;
            if limit.bytes.is_some() {
                self.bytes -= len as f64;
            }
            self.refused_in_a_row = 0;
            return Verdict::Allow;
        }
        self.refused_in_a_row += 1;
        if self.refused_in_a_row > limit.burst() { Verdict::Close } else { Verdict::Refuse }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_then_the_rate_then_a_close_past_the_burst_of_refusals() {
        let start = Instant::now();
        let mut bucket = Bucket::new(RateLimit::messages(10, 3));
        let verdicts: Vec<Verdict> = (0..5).map(|_| bucket.take(1, start)).collect();
        assert_eq!(
            verdicts,
            [Verdict::Allow, Verdict::Allow, Verdict::Allow, Verdict::Refuse, Verdict::Refuse]
        );
        assert_eq!(bucket.take(1, start + Duration::from_millis(100)), Verdict::Allow, "one token in 100 ms");
        assert_eq!(bucket.take(1, start + Duration::from_millis(100)), Verdict::Refuse);
        let mut closed = bucket.take(1, start + Duration::from_millis(100));
        while closed == Verdict::Refuse {
            closed = bucket.take(1, start + Duration::from_millis(100));
        }
        assert_eq!(closed, Verdict::Close, "more refusals in a row than the burst");
    }

    #[test]
    fn bytes_are_limited_too() {
        let start = Instant::now();
        let mut bucket = Bucket::new(RateLimit::messages(1000, 1000).bytes(100, 150));
        assert_eq!(bucket.take(100, start), Verdict::Allow);
        assert_eq!(bucket.take(100, start), Verdict::Refuse, "50 bytes left");
        assert_eq!(
            bucket.take(100, start + Duration::from_millis(500)),
            Verdict::Allow,
            "100 bytes in 0.5 s"
        );
    }
}
