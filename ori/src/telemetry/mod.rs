//! What ori counts for operators, through the [`metrics`] facade: the
//! handles of every figure (registered once, when an app that turned
//! metrics on is built: `Ori::metrics`, or `Ori::metrics_route` with the
//! feature `prometheus`), so the hot paths do an atomic add, never a
//! lookup. Off (nothing registered), each site costs one load and a branch.
//!
//! The names, their labels and their meanings are listed in [`NAMES`] (and
//! in README, "Operating ori"). Label values are bounded: message types are
//! the app's routes, the control messages or `unknown`; error codes are
//! ori's and those the routes declare, or `other`; close codes are numbers.
//! No socket ids and no topics.

pub(crate) mod durations;
pub(crate) mod process;

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, RwLock};

use metrics::{Counter, Gauge, Histogram};

use durations::Durations;

/// Every figure: its name, kind, labels and meaning.
pub(crate) const NAMES: &[(&str, &str, &str)] = &[
    ("ori_connections", "gauge", "connections open now"),
    ("ori_connections_opened_total", "counter", "connections opened (the guards admitted them)"),
    ("ori_connections_closed_total", "counter", "connections closed, by `code` (1006: the peer vanished)"),
    ("ori_subscriptions", "gauge", "subscriptions of this instance's connections (sampled)"),
    ("ori_topics", "gauge", "topics with a subscriber on this instance (sampled)"),
    (
        "ori_runtime_tasks",
        "gauge",
        "tasks alive on the runtimes serving the app (its workers', the one running `serve`): about one per connection (sampled)",
    ),
    ("process_resident_memory_bytes", "gauge", "resident memory of the process (Linux; sampled)"),
    ("process_open_fds", "gauge", "open file descriptors of the process (Linux; sampled)"),
    (
        "ori_messages_received_total",
        "counter",
        "envelopes received, by `type` (a route, a control message, or `unknown`)",
    ),
    ("ori_messages_received_bytes_total", "counter", "bytes of the envelopes received, by `type`"),
    (
        "ori_messages_sent_total",
        "counter",
        "messages sent, by `kind`: `reply` (to a request) or `push` (publishes, direct sends)",
    ),
    ("ori_messages_sent_bytes_total", "counter", "bytes of the messages sent, by `kind`"),
    (
        "ori_errors_total",
        "counter",
        "error replies, by `code` (ori's, the routes' declared ones, or `other`)",
    ),
    ("ori_handler_duration_seconds", "histogram", "time from dispatch to reply, by `type` (routes only)"),
    ("ori_publish_fanout", "histogram", "connections of this instance one publish reached"),
    (
        "ori_outbound_queue_bytes",
        "gauge",
        "bytes queued for connections that read slower than they are sent to (sampled)",
    ),
    (
        "ori_slow_consumer_closes_total",
        "counter",
        "connections closed (1013) because their outbound queue overflowed",
    ),
    (
        "ori_worker_stalls_total",
        "counter",
        "times a worker thread did not run for a second (something blocking it: its connections waited)",
    ),
    ("ori_backend_connected", "gauge", "1 while the pub/sub backend is connected (sampled)"),
    ("ori_backend_published_total", "counter", "messages this instance published to the backend"),
    ("ori_backend_received_total", "counter", "messages from other instances delivered here"),
    ("ori_backend_dropped_total", "counter", "publishes the backend dropped (past its outage buffer)"),
    ("ori_backend_reconnects_total", "counter", "times the backend connection was re-established"),
    (
        "ori_backend_outage_seconds",
        "gauge",
        "time the backend has been disconnected since start-up (sampled)",
    ),
];

/// The error codes ori itself answers.
const ORI_CODES: [&str; 7] =
    ["bad_request", "unknown_type", "forbidden", "unsupported", "timeout", "rate_limited", "internal"];

/// The control messages, which count under their own type.
const CONTROL_TYPES: [&str; 5] = ["ping", "subscribe", "unsubscribe", "presence", "__reauthenticate"];

static TELEMETRY: OnceLock<Telemetry> = OnceLock::new();

/// The process's figures, once an app turned metrics on; `None` until then
/// (every recording site then does nothing).
pub(crate) fn get() -> Option<&'static Telemetry> {
    TELEMETRY.get()
}

/// Registers the figures with the recorder installed now (the first app
/// that turns metrics on does; later ones share them), and the error codes
/// `declared` by its routes.
pub(crate) fn enable(declared: impl IntoIterator<Item = &'static str>) -> &'static Telemetry {
    let telemetry = TELEMETRY.get_or_init(Telemetry::register);
    let mut errors = crate::util::sync::write(&telemetry.errors);
    for code in declared {
        errors.entry(code).or_insert_with(|| metrics::counter!("ori_errors_total", "code" => code));
    }
    drop(errors);
    telemetry
}

/// The handles of every figure but the per-route ones ([`RouteMetrics`]).
pub(crate) struct Telemetry {
    connections: Gauge,
    opened: Counter,
    closed: Mutex<HashMap<u16, Counter>>,
    pub(crate) subscriptions: Gauge,
    pub(crate) topics: Gauge,
    pub(crate) runtime_tasks: Gauge,
    pub(crate) resident_memory_bytes: Gauge,
    pub(crate) open_fds: Gauge,
    /// `(type, messages, bytes)` of each control message.
    control: [(&'static str, Counter, Counter); 5],
    unknown: (Counter, Counter),
    replies: (Counter, Counter),
    pushes: (Counter, Counter),
    /// Written when an app turns metrics on, read by every error reply.
    errors: RwLock<HashMap<&'static str, Counter>>,
    other_errors: Counter,
    pub(crate) fanout: Histogram,
    pub(crate) outbound_queue_bytes: Gauge,
    pub(crate) slow_consumer_closes: Counter,
    pub(crate) worker_stalls: Counter,
    pub(crate) backend_connected: Gauge,
    pub(crate) backend_published: Counter,
    pub(crate) backend_received: Counter,
    pub(crate) backend_dropped: Counter,
    pub(crate) backend_reconnects: Counter,
    pub(crate) backend_outage_seconds: Gauge,
}

impl Telemetry {
    fn register() -> Telemetry {
        for (name, kind, help) in NAMES {
            match *kind {
                "counter" => metrics::describe_counter!(*name, *help),
                "gauge" => metrics::describe_gauge!(*name, *help),
                _ => metrics::describe_histogram!(*name, *help),
            }
        }
        let received = |t: &'static str| {
            (
                metrics::counter!("ori_messages_received_total", "type" => t),
                metrics::counter!("ori_messages_received_bytes_total", "type" => t),
            )
        };
        let sent = |kind: &'static str| {
            (
                metrics::counter!("ori_messages_sent_total", "kind" => kind),
                metrics::counter!("ori_messages_sent_bytes_total", "kind" => kind),
            )
        };
        let control = CONTROL_TYPES.map(|t| {
            let (messages, bytes) = received(t);
            (t, messages, bytes)
        });
        let errors =
            ORI_CODES.iter().map(|&c| (c, metrics::counter!("ori_errors_total", "code" => c))).collect();
        Telemetry {
            connections: metrics::gauge!("ori_connections"),
            opened: metrics::counter!("ori_connections_opened_total"),
            closed: Mutex::default(),
            subscriptions: metrics::gauge!("ori_subscriptions"),
            topics: metrics::gauge!("ori_topics"),
            runtime_tasks: metrics::gauge!("ori_runtime_tasks"),
            resident_memory_bytes: metrics::gauge!("process_resident_memory_bytes"),
            open_fds: metrics::gauge!("process_open_fds"),
            control,
            unknown: received("unknown"),
            replies: sent("reply"),
            pushes: sent("push"),
            errors: RwLock::new(errors),
            other_errors: metrics::counter!("ori_errors_total", "code" => "other"),
            fanout: metrics::histogram!("ori_publish_fanout"),
            outbound_queue_bytes: metrics::gauge!("ori_outbound_queue_bytes"),
            slow_consumer_closes: metrics::counter!("ori_slow_consumer_closes_total"),
            worker_stalls: metrics::counter!("ori_worker_stalls_total"),
            backend_connected: metrics::gauge!("ori_backend_connected"),
            backend_published: metrics::counter!("ori_backend_published_total"),
            backend_received: metrics::counter!("ori_backend_received_total"),
            backend_dropped: metrics::counter!("ori_backend_dropped_total"),
            backend_reconnects: metrics::counter!("ori_backend_reconnects_total"),
            backend_outage_seconds: metrics::gauge!("ori_backend_outage_seconds"),
        }
    }

    /// A control message or a message of no route came in.
    pub(crate) fn received_unrouted(&self, message_type: &str, bytes: usize) {
        let (messages, size) = match self.control.iter().find(|(t, _, _)| *t == message_type) {
            Some((_, messages, size)) => (messages, size),
            None => (&self.unknown.0, &self.unknown.1),
        };
        messages.increment(1);
        size.increment(bytes as u64);
    }

    /// An error reply with `code` went out.
    pub(crate) fn error(&self, code: &str) {
        match crate::util::sync::read(&self.errors).get(code) {
            Some(counter) => counter.increment(1),
            None => self.other_errors.increment(1),
        }
    }

    /// A connection was opened (its guards admitted it).
    pub(crate) fn opened(&self) {
        self.opened.increment(1);
        self.connections.increment(1.0);
    }

    /// A connection closed with `code`; `was_open`: it had been opened
    /// (not refused while opening).
    pub(crate) fn closed(&self, code: u16, was_open: bool) {
        if was_open {
            self.connections.decrement(1.0);
        }
        let mut closed = crate::util::sync::lock(&self.closed);
        closed
            .entry(code)
            .or_insert_with(|| metrics::counter!("ori_connections_closed_total", "code" => code.to_string()))
            .increment(1);
        if code == 1013 {
            self.slow_consumer_closes.increment(1);
        }
    }

    /// `messages` replies, `bytes` of payload in all, were sent.
    pub(crate) fn replied(&self, messages: usize, bytes: usize) {
        self.replies.0.increment(messages as u64);
        self.replies.1.increment(bytes as u64);
    }

    /// A message was sent to one connection (not published).
    pub(crate) fn sent_directly(&self, bytes: usize) {
        self.pushes.0.increment(1);
        self.pushes.1.increment(bytes as u64);
    }

    /// One publish reached `subscribers` connections of this instance with a frame of `bytes`.
    pub(crate) fn published(&self, subscribers: usize, bytes: usize) {
        self.fanout.record(subscribers as f64);
        self.pushes.0.increment(subscribers as u64);
        self.pushes.1.increment((subscribers * bytes) as u64);
    }
}

/// The figures of one route: messages and bytes in, and how long the
/// handler took.
#[derive(Debug)]
pub(crate) struct RouteMetrics {
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    message_type: &'static str,
    pub(crate) received: Counter,
    pub(crate) received_bytes: Counter,
    pub(crate) durations: Durations,
    /// The app's recorder's histogram, which [`forward_durations`] feeds
    /// (`None` where ori renders the durations itself).
    recorder_histogram: Option<Histogram>,
}

/// Every route with figures, for rendering and forwarding (kept for the
/// process, like the routes' figures themselves).
static ROUTES: Mutex<Vec<&'static RouteMetrics>> = Mutex::new(Vec::new());

impl RouteMetrics {
    /// The figures of the route of `message_type`, registered now (kept for
    /// the process: no reference count to touch per message). `rendered`:
    /// ori renders the durations on its own route; otherwise they go to the
    /// app's recorder as a histogram when it samples.
    pub(crate) fn register(message_type: &'static str, rendered: bool) -> &'static RouteMetrics {
        let metrics: &'static RouteMetrics = Box::leak(Box::new(RouteMetrics {
            message_type,
            received: metrics::counter!("ori_messages_received_total", "type" => message_type),
            received_bytes: metrics::counter!("ori_messages_received_bytes_total", "type" => message_type),
            durations: Durations::default(),
            recorder_histogram: (!rendered)
                .then(|| metrics::histogram!("ori_handler_duration_seconds", "type" => message_type)),
        }));
        crate::util::sync::lock(&ROUTES).push(metrics);
        metrics
    }
}

/// Gives the app's recorder the handler durations it has not seen yet.
pub(crate) fn forward_durations() {
    for route in crate::util::sync::lock(&ROUTES).iter() {
        if let Some(histogram) = &route.recorder_histogram {
            route.durations.forward(histogram);
        }
    }
}

/// Writes the handler durations of every route in Prometheus' text format
/// (routes of the same type, from several apps of one process, summed).
#[cfg(feature = "prometheus")]
pub(crate) fn render_durations(out: &mut String) {
    let mut by_type: Vec<(&str, durations::Snapshot)> = Vec::new();
    for route in crate::util::sync::lock(&ROUTES).iter() {
        let snapshot = route.durations.snapshot();
        match by_type.iter_mut().find(|(t, _)| *t == route.message_type) {
            Some((_, sum)) => {
                for (total, (count, nanos)) in sum.iter_mut().zip(snapshot) {
                    total.0 += count;
                    total.1 += nanos;
                }
            }
            None => by_type.push((route.message_type, snapshot)),
        }
    }
    by_type.sort_by_key(|(t, _)| *t);
    durations::render(out, &by_type);
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry").finish_non_exhaustive()
    }
}
