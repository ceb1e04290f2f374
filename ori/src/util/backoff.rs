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
}

impl Backoff {
    pub(crate) fn new(first: Duration, max: Duration) -> Backoff {
        Backoff { first, max: max.max(first), attempt: 0 }
    }

    /// The wait before the next attempt.
    pub(crate) fn next_delay(&mut self) -> Duration {
        self.attempt = self.attempt.saturating_add(1);
        let full = self.first.saturating_mul(2u32.saturating_pow(self.attempt - 1)).min(self.max);
        let spread = f64::from(crate::util::random::random_bytes()[0]) / 255.0;
        full / 2 + (full / 2).mul_f64(spread)
    }

    /// Attempts made so far (the number of the last one).
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
