//! [`Backoff`]: the waits between reconnection attempts, shared by the Redis
//! provider and the client.

use std::time::Duration;

/// Exponential backoff with "equal jitter": the wait before attempt `n`
/// (counted from one) is `first x 2^(n-1)`, capped at `max`, drawn between half
/// and all of it, so that many instances or clients losing one server do not
/// retry in step.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    first: Duration,
    max: Duration,
    attempt: u32,
    /// Attempts made at once ([`at_once`](Backoff::at_once)): they do not grow the waits.
    at_once: u32,
}

impl Backoff {
    pub(crate) fn new(first: Duration, max: Duration) -> Backoff {
        Backoff { first, max: max.max(first), attempt: 0, at_once: 0 }
    }

    /// The wait before the next attempt.
    pub(crate) fn next_delay(&mut self) -> Duration {
        self.attempt = self.attempt.saturating_add(1);
        let grown = self.attempt - self.at_once - 1;
        let full = self.first.saturating_mul(2u32.saturating_pow(grown)).min(self.max);
        full / 2 + (full / 2).mul_f64(spread())
    }

    /// The wait before an attempt made at once (the server said it is
    /// going away or restarting): anywhere up to `within`, so that its
    /// clients do not all come back in the same instant; later waits start
    /// from the first one, as if this attempt had not been made.
    #[cfg(feature = "client")]
    pub(crate) fn at_once(&mut self, within: Duration) -> Duration {
        self.attempt = self.attempt.saturating_add(1);
        self.at_once = self.at_once.saturating_add(1);
        within.mul_f64(spread())
    }

    /// Attempts made so far (the number of the last one).
    #[cfg_attr(not(any(feature = "redis", feature = "client")), allow(dead_code))]
    pub(crate) fn attempt(&self) -> u32 {
        self.attempt
    }
}

/// Waits, then runs `attempt`, until it succeeds; failures are logged at
/// debug level as `what`.
#[cfg(feature = "redis")]
pub(crate) async fn retry<T, E, F>(mut backoff: Backoff, what: &str, mut attempt: impl FnMut() -> F) -> T
where
    E: std::fmt::Display,
    F: std::future::Future<Output = Result<T, E>>,
{
    loop {
        tokio::time::sleep(backoff.next_delay()).await;
        match attempt().await {
            Ok(value) => return value,
            Err(error) => tracing::debug!(%error, attempt = backoff.attempt(), "{what}"),
        }
    }
}

/// A number in [0, 1].
fn spread() -> f64 {
    f64::from(crate::util::random::random_bytes()[0]) / 255.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "client")]
    #[test]
    fn an_attempt_at_once_does_not_grow_the_waits() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(400));
        assert!(backoff.at_once(Duration::from_millis(50)) <= Duration::from_millis(50));
        let next = backoff.next_delay();
        assert!(next >= Duration::from_millis(50) && next <= Duration::from_millis(100), "{next:?}");
        assert_eq!(backoff.attempt(), 2);
    }

    #[test]
    fn waits_double_up_to_the_cap_with_jitter_below_each() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(400));
        for full in [100, 200, 400, 400, 400] {
            let full = Duration::from_millis(full);
            let delay = backoff.next_delay();
            assert!(delay >= full / 2 && delay <= full, "{delay:?} outside {:?}..={full:?}", full / 2);
        }
        assert_eq!(backoff.attempt(), 5);
    }

    #[test]
    fn a_cap_below_the_first_wait_is_the_first_wait() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(10));
        assert!(backoff.next_delay() <= Duration::from_millis(100));
        for _ in 0..100 {
            assert!(backoff.next_delay() <= Duration::from_millis(100));
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            /// Attempt `n` waits between half and all of `first x 2^(n-1)`,
            /// capped at `max` (never under `first`): never longer than the
            /// cap, never shorter than half the first wait.
            #[test]
            fn waits_stay_within_their_bounds(first in 1u64..5_000, max in 1u64..60_000, attempts in 1u32..100) {
                let (first, max) = (Duration::from_millis(first), Duration::from_millis(max));
                let cap = max.max(first);
                let mut backoff = Backoff::new(first, max);
                for n in 1..=attempts {
                    let full = first.saturating_mul(2u32.saturating_pow(n - 1)).min(cap);
                    let wait = backoff.next_delay();
                    prop_assert!(wait >= full / 2 && wait <= full, "attempt {n}: {wait:?} outside {:?}..={full:?}", full / 2);
                    prop_assert_eq!(backoff.attempt(), n);
                }
            }
        }
    }
}
