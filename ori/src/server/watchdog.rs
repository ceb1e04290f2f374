//! The worker watchdog. Each worker thread's runtime beats every
//! [`BEAT`]; a thread of its own looks at the beats and, when a worker has
//! not beaten for [`STALL`], warns that something blocks its thread (a
//! handler, a layer or a guard calling blocking code: every connection of
//! that worker waits meanwhile), counts it (`ori_worker_stalls_total`),
//! and says so again when the worker runs once more.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often a worker beats.
const BEAT: Duration = Duration::from_millis(100);
/// How long without a beat is a stall.
pub(crate) const STALL: Duration = Duration::from_secs(1);
/// How often the watchdog looks.
const LOOK: Duration = Duration::from_millis(250);

/// The beats of every worker, and the watchdog's thread.
#[derive(Debug)]
pub(crate) struct Watchdog {
    started: Instant,
    /// Each worker's last beat, in milliseconds since `started`.
    beats: Vec<AtomicU64>,
    stop: AtomicBool,
}

impl Watchdog {
    /// A watchdog for `workers` worker threads; [`watch`](Self::watch) starts it.
    pub(crate) fn new(workers: usize) -> Arc<Watchdog> {
        Arc::new(Watchdog {
            started: Instant::now(),
            beats: (0..workers).map(|_| AtomicU64::new(0)).collect(),
            stop: AtomicBool::new(false),
        })
    }

    fn now(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Beats for worker `index` until the watchdog stops (spawned on that
    /// worker's runtime).
    pub(crate) async fn beat(self: Arc<Self>, index: usize) {
        while !self.stop.load(Ordering::Relaxed) {
            self.beats[index].store(self.now(), Ordering::Relaxed);
            tokio::time::sleep(BEAT).await;
        }
    }

    /// Starts the thread that looks at the beats.
    pub(crate) fn watch(self: &Arc<Self>) -> std::io::Result<()> {
        let watchdog = self.clone();
        std::thread::Builder::new().name("ori-watchdog".to_owned()).spawn(move || watchdog.look())?;
        Ok(())
    }

    /// Stops the beats and the thread.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    fn look(&self) {
        let mut stalled = vec![false; self.beats.len()];
        while !self.stop.load(Ordering::Relaxed) {
            std::thread::sleep(LOOK);
            let now = self.now();
            for (index, beat) in self.beats.iter().enumerate() {
                let silent = Duration::from_millis(now.saturating_sub(beat.load(Ordering::Relaxed)));
                if silent >= STALL && !stalled[index] {
                    stalled[index] = true;
                    tracing::warn!(
                        worker = index,
                        silent_ms = silent.as_millis() as u64,
                        "worker thread ori-worker-{index} has not run for {silent:?}: something blocks it (a handler, \
                         a layer or a guard calling blocking code), and its connections wait; move blocking work \
                         to tokio::task::spawn_blocking"
                    );
                    if let Some(telemetry) = crate::telemetry::get() {
                        telemetry.worker_stalls.increment(1);
                    }
                } else if silent < STALL && stalled[index] {
                    stalled[index] = false;
                    tracing::info!(worker = index, "worker thread ori-worker-{index} runs again");
                }
            }
        }
    }
}
