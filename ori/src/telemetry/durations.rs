//! [`Durations`]: how long a route's handlers took, counted into fixed
//! buckets with three relaxed atomic adds: a `metrics` histogram costs a
//! clock read and a sample queue per value in the Prometheus exporter
//! (about 200 instructions, 4% of an rpc reply). ori renders these buckets
//! itself on its Prometheus route, and forwards them to an app's own
//! recorder when it samples.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use metrics::Histogram;

use crate::util::sync::lock;

/// Upper bounds of the buckets, in seconds (the last bucket is `+Inf`).
pub(crate) const BUCKETS: [f64; 12] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 1.0, 10.0];

/// The same bounds, in nanoseconds, for the hot path.
const BOUNDS_NANOS: [u64; 12] = {
    let mut bounds = [0; 12];
    let mut i = 0;
    while i < 12 {
        bounds[i] = (BUCKETS[i] * 1e9) as u64;
        i += 1;
    }
    bounds
};

/// One route's handler durations: a count and a sum (nanoseconds) per bucket.
#[derive(Debug, Default)]
pub(crate) struct Durations {
    counts: [AtomicU64; 13],
    nanos: [AtomicU64; 13],
    /// What was forwarded to the app's recorder so far.
    forwarded: Mutex<[(u64, u64); 13]>,
}

/// A snapshot: count and sum (nanoseconds) per bucket.
pub(crate) type Snapshot = [(u64, u64); 13];

impl Durations {
    /// Counts one handler that took `took`.
    #[inline]
    pub(crate) fn record(&self, took: Duration) {
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        let bucket = BOUNDS_NANOS.iter().position(|&bound| nanos <= bound).unwrap_or(12);
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.nanos[bucket].fetch_add(nanos, Ordering::Relaxed);
    }

    /// The counts and sums so far.
    pub(crate) fn snapshot(&self) -> Snapshot {
        std::array::from_fn(|i| {
            (self.counts[i].load(Ordering::Relaxed), self.nanos[i].load(Ordering::Relaxed))
        })
    }

    /// Gives `histogram` (the app's recorder's) what it has not seen yet:
    /// each bucket's new values as their mean, so its count and sum are exact.
    pub(crate) fn forward(&self, histogram: &Histogram) {
        let now = self.snapshot();
        let mut forwarded = lock(&self.forwarded);
        for ((count, nanos), (seen_count, seen_nanos)) in now.iter().zip(forwarded.iter()) {
            let new = count - seen_count;
            if new > 0 {
                let mean = (nanos - seen_nanos) as f64 / new as f64 / 1e9;
                histogram.record_many(mean, usize::try_from(new).unwrap_or(usize::MAX));
            }
        }
        *forwarded = now;
    }
}

/// Writes the Prometheus text of the histogram of each `(type, snapshot)`.
#[cfg(any(test, feature = "prometheus"))]
pub(crate) fn render(out: &mut String, routes: &[(&str, Snapshot)]) {
    use std::fmt::Write as _;
    if routes.is_empty() {
        return;
    }
    out.push_str(
        "# HELP ori_handler_duration_seconds time from dispatch to reply, by `type` (routes only)\n",
    );
    out.push_str("# TYPE ori_handler_duration_seconds histogram\n");
    for (message_type, snapshot) in routes {
        let mut cumulative = 0;
        for (bound, (count, _)) in BUCKETS.iter().zip(snapshot) {
            cumulative += count;
            let _ = writeln!(
                out,
                "ori_handler_duration_seconds_bucket{{type=\"{message_type}\",le=\"{bound}\"}} {cumulative}"
            );
        }
        cumulative += snapshot[12].0;
        let _ = writeln!(
            out,
            "ori_handler_duration_seconds_bucket{{type=\"{message_type}\",le=\"+Inf\"}} {cumulative}"
        );
        let sum: u64 = snapshot.iter().map(|(_, nanos)| nanos).sum();
        let _ =
            writeln!(out, "ori_handler_duration_seconds_sum{{type=\"{message_type}\"}} {}", sum as f64 / 1e9);
        let _ = writeln!(out, "ori_handler_duration_seconds_count{{type=\"{message_type}\"}} {cumulative}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_land_in_their_bucket_and_render_cumulatively() {
        let durations = Durations::default();
        durations.record(Duration::from_micros(50));
        durations.record(Duration::from_micros(100));
        durations.record(Duration::from_millis(3));
        durations.record(Duration::from_secs(60));
        let snapshot = durations.snapshot();
        assert_eq!(snapshot[0], (2, 150_000));
        assert_eq!(snapshot[5], (1, 3_000_000));
        assert_eq!(snapshot[12], (1, 60_000_000_000));
        let mut text = String::new();
        render(&mut text, &[("a.b", snapshot)]);
        assert!(
            text.contains("ori_handler_duration_seconds_bucket{type=\"a.b\",le=\"0.0001\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("ori_handler_duration_seconds_bucket{type=\"a.b\",le=\"0.005\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("ori_handler_duration_seconds_bucket{type=\"a.b\",le=\"+Inf\"} 4\n"), "{text}");
        assert!(text.contains("ori_handler_duration_seconds_count{type=\"a.b\"} 4\n"), "{text}");
    }
}
