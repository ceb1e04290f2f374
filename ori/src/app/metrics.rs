//! Metrics as an app serves them ([`Ori::metrics`](crate::Ori::metrics),
//! [`Ori::metrics_route`](crate::Ori::metrics_route)): turning them on at
//! build, sampling the figures that are states rather than events
//! (subscriptions, topics, queued bytes, tasks, the process's memory and
//! file descriptors, the backend's figures), and, with
//! the feature `prometheus`, the route that renders them.

use std::time::Duration;

use crate::handles::app_context::AppContext;
use crate::routing::table::RouteTable;
use crate::telemetry;
use crate::util::sync::lock;

/// How an app reports metrics.
#[derive(Debug, Clone, Default)]
pub(crate) enum MetricsMode {
    /// Not at all (the default).
    #[default]
    Off,
    /// Through the `metrics` recorder the app installed (any exporter).
    Recorder,
    /// Through ori's Prometheus exporter, served at this path.
    #[cfg(feature = "prometheus")]
    Prometheus(String),
}

/// How often the states are sampled for a recorder ori does not render.
const SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// Turns the figures on for `routes` (with the error codes they declare);
/// `rendered`: ori's Prometheus route renders them.
pub(crate) fn enable(
    routes: &mut RouteTable,
    declared: impl IntoIterator<Item = &'static str>,
    rendered: bool,
) {
    telemetry::enable(declared);
    routes.enable_metrics(rendered);
}

/// Sets the sampled figures from what `app` holds now.
pub(crate) fn sample(app: &AppContext) {
    let Some(telemetry) = telemetry::get() else { return };
    let shared = app.shared();
    let (mut subscriptions, mut queued) = (0usize, 0usize);
    shared.connections.for_each(|core| {
        subscriptions += lock(&core.subscriptions).topic_count();
        queued += core.outbox.queued_bytes();
    });
    telemetry.subscriptions.set(subscriptions as f64);
    telemetry.topics.set(app.sockets().topics().len() as f64);
    telemetry.outbound_queue_bytes.set(queued as f64);
    telemetry.runtime_tasks.set(shared.alive_tasks() as f64);
    if let Some(bytes) = telemetry::process::resident_memory_bytes() {
        telemetry.resident_memory_bytes.set(bytes as f64);
    }
    if let Some(fds) = telemetry::process::open_fds() {
        telemetry.open_fds.set(fds as f64);
    }
    if let Some(stats) = shared.pubsub.stats() {
        telemetry.backend_connected.set(if stats.connected { 1.0 } else { 0.0 });
        telemetry.backend_published.absolute(stats.published);
        telemetry.backend_received.absolute(stats.received);
        telemetry.backend_dropped.absolute(stats.dropped);
        telemetry.backend_reconnects.absolute(stats.reconnects);
        telemetry.backend_outage_seconds.set(stats.outage.as_secs_f64());
    }
}

/// Samples every few seconds until the server shuts down (for a recorder
/// whose exporter ori does not call: ori's own samples on each scrape).
pub(crate) fn spawn_sampler(app: AppContext) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        // Built outside a runtime (an in-process harness): nothing to sample for.
        return;
    };
    runtime.spawn(async move {
        let mut every = tokio::time::interval(SAMPLE_EVERY);
        while !app.shared().admissions.is_shutting_down() {
            every.tick().await;
            sample(&app);
            telemetry::forward_durations();
        }
    });
}

/// ori's Prometheus exporter: installed as the process's recorder once (by
/// the first app that asks; later ones share it), with buckets for the
/// histograms.
#[cfg(feature = "prometheus")]
pub(crate) mod prometheus {
    use std::sync::OnceLock;

    use axum::extract::State;
    use axum::http::header::CONTENT_TYPE;
    use axum::routing::get;
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

    use crate::error::Error;
    use crate::handles::app_context::AppContext;

    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

    /// Connections one publish reaches.
    const FANOUT_BUCKETS: [f64; 8] = [0.0, 1.0, 10.0, 100.0, 1_000.0, 10_000.0, 100_000.0, 1_000_000.0];

    /// Installs the exporter (once); an error when another recorder is installed.
    pub(crate) fn install() -> Result<(), Error> {
        if HANDLE.get().is_some() {
            return Ok(());
        }
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full("ori_publish_fanout".to_owned()), &FANOUT_BUCKETS)
            .map_err(|e| Error::InvalidConfig(format!("the Prometheus exporter: {e}")))?
            .build_recorder();
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder).map_err(|_| {
            Error::InvalidConfig(
                "another `metrics` recorder is installed, so ori's Prometheus exporter cannot be: \
                 use `Ori::metrics()` (ori's figures go to your recorder) and serve your exporter"
                    .to_owned(),
            )
        })?;
        let _ = HANDLE.set(handle);
        Ok(())
    }

    /// `GET path`: the figures in Prometheus' text format, sampled now.
    pub(crate) fn route(path: &str) -> axum::Router<AppContext> {
        axum::Router::new().route(path, get(render))
    }

    async fn render(State(app): State<AppContext>) -> ([(axum::http::HeaderName, &'static str); 1], String) {
        super::sample(&app);
        let mut text = HANDLE.get().map_or_else(String::new, |h| {
            h.run_upkeep();
            h.render()
        });
        // ori's own histogram of handler durations (see `telemetry::durations`).
        crate::telemetry::render_durations(&mut text);
        ([(CONTENT_TYPE, "text/plain; version=0.0.4")], text)
    }
}
