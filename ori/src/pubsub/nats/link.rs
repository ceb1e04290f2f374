//! The NATS side of a [`NatsBackend`](super::NatsBackend): the client
//! (which reconnects and subscribes again by itself), the subscription
//! manager, and a reader per subscribed topic (the publisher is `publisher.rs`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot};

use super::{Shared, control, history, presence, publisher, subject, without_credentials};
use crate::error::BoxError;
use crate::pubsub::BackendContext;
use crate::pubsub::packet::{self, Kind};
use crate::util::sync::lock;

/// A change of the local subscriptions, sent in order.
pub(crate) enum SubOp {
    /// A connection joined `topic` (the manager subscribes unless it has).
    /// `ack` is answered once the server has the subscription.
    Join { topic: String, ack: oneshot::Sender<()> },
    /// The last local subscriber of `topic` left.
    Leave { topic: String },
}

/// Connects (or not, if allowed) and spawns the backend's tasks.
pub(crate) async fn start(shared: Arc<Shared>, context: BackendContext) -> Result<(), BoxError> {
    let config = &shared.config;
    if !subject::valid_prefix(&config.prefix) {
        return Err(format!(
            "invalid NATS subject prefix `{}`: use dot-separated tokens without spaces, `*`, `>`, `%`, `/` or `\\`",
            config.prefix
        )
        .into());
    }
    let ops = lock(&shared.ops_rx).take().ok_or("the NATS backend was already started")?;
    // The client's callback holds the backend weakly: the backend holds the client.
    let events = Arc::downgrade(&shared);
    let lost = Arc::new(AtomicBool::new(false));
    let mut options = async_nats::ConnectOptions::new()
        .connection_timeout(config.connect_timeout)
        .ping_interval(config.ping_interval)
        .max_reconnects(None)
        .reconnect_delay_callback({
            let (min, max) = (config.backoff_min, config.backoff_max);
            move |attempts| min.saturating_mul(1 << attempts.min(16)).min(max)
        })
        .event_callback(move |event| {
            let (events, lost) = (events.clone(), lost.clone());
            async move { on_event(&events, &lost, event) }
        });
    if config.start_degraded {
        options = options.retry_on_initial_connect();
    }
    if let Some(root) = &config.tls_root {
        options = options.add_root_certificates(root.clone());
    }
    let client = options.connect(config.url.as_str()).await.map_err(|error| {
        format!(
            "cannot connect to NATS at `{}`: {error} (start it, fix the URL, or use `start_degraded(true)`)",
            without_credentials(&config.url)
        )
    })?;
    let connected = client.connection_state() == async_nats::connection::State::Connected;
    if connected {
        shared.counters.set_connected(true);
        shared.presence.connected(true);
    } else {
        tracing::warn!(url = %without_credentials(&config.url), "NATS unreachable at start-up; serving local traffic until it is");
        // Not `set_connected(false)`: the client may have connected (and
        // said so to `on_event`) since its state was read.
        shared.counters.outage_began_unless_connected();
    }
    let subjects = &shared.subjects;
    let direct = client.subscribe(subjects.direct.clone()).await?;
    let probe = client.subscribe(subjects.probe.clone()).await?;
    let requests = client.subscribe(subjects.control.clone()).await?;
    let answers = client.subscribe(subjects.reply.clone()).await?;
    let others = client.subscribe(subjects.instances.clone()).await?;
    let mut probe = probe;
    // The server has these subscriptions before the port is bound.
    if connected && !round_trip(&client, &subjects.probe, &mut probe, 0, config.connect_timeout).await {
        tracing::warn!("NATS did not confirm the instance's subscriptions in time");
    }
    let _ = shared.client.set(client.clone());
    let _ = shared.jetstream.set(async_nats::jetstream::new(client.clone()));
    let tasks = vec![
        tokio::spawn(publisher::publish(shared.clone(), client.clone())),
        tokio::spawn(manage_subscriptions(shared.clone(), client.clone(), context.clone(), ops, probe)),
        tokio::spawn(read_direct(shared.clone(), context.clone(), direct)),
        tokio::spawn(control::answer(shared.clone(), context, requests)),
        tokio::spawn(control::read_answers(shared.clone(), answers)),
        tokio::spawn(control::keep_membership(shared.clone(), client, others)),
        tokio::spawn(presence::guard(shared.clone())),
        tokio::spawn(presence::maintain(shared.clone())),
    ];
    lock(&shared.tasks).extend(tasks);
    Ok(())
}

/// Follows the connection: what `is_ready` and the outage policy read.
fn on_event(shared: &Weak<Shared>, lost: &AtomicBool, event: async_nats::Event) {
    let Some(shared) = shared.upgrade() else { return };
    match event {
        async_nats::Event::Connected => {
            if lost.swap(false, Ordering::AcqRel) {
                shared.counters.reconnects.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    dropped = shared.counters.dropped.load(Ordering::Relaxed),
                    "reconnected to NATS; sending what waited"
                );
            }
            shared.counters.set_connected(true);
            shared.presence.connected(true);
            shared.outgoing.wake();
            shared.reconnected.send_modify(|n| *n += 1);
        }
        async_nats::Event::Disconnected => {
            lost.store(true, Ordering::Release);
            shared.counters.set_connected(false);
            shared.presence.connected(false);
            tracing::warn!("lost the NATS connection; serving local traffic and reconnecting");
        }
        async_nats::Event::SlowConsumer(subscription) => {
            tracing::warn!(subscription, "NATS dropped messages for a subscription that fell behind");
        }
        other => tracing::debug!(event = %other, "NATS"),
    }
}

/// Turns local subscription changes into subscriptions (a reader each), in
/// order, and acknowledges joins once the server has them.
async fn manage_subscriptions(
    shared: Arc<Shared>,
    client: async_nats::Client,
    context: BackendContext,
    mut ops: mpsc::UnboundedReceiver<SubOp>,
    mut probe: async_nats::Subscriber,
) {
    let probe_subject = shared.subjects.probe.clone();
    let mut probes = 0u64;
    let mut readers: HashMap<String, tokio::task::JoinHandle<()>> = HashMap::new();
    while let Some(op) = ops.recv().await {
        let mut batch = vec![op];
        while let Ok(op) = ops.try_recv() {
            batch.push(op);
        }
        let mut acks = Vec::new();
        let mut subscribed = false;
        for op in batch {
            match op {
                SubOp::Join { topic, ack } => {
                    if let std::collections::hash_map::Entry::Vacant(vacant) = readers.entry(topic) {
                        let topic = vacant.key().clone();
                        // A history topic's messages come from its stream, in offset order.
                        history::follow_if_kept(&shared, &topic, context.retention(&topic)).await;
                        match client.subscribe(shared.subject(&topic)).await {
                            Ok(subscriber) => {
                                vacant.insert(tokio::spawn(read_topic(shared.clone(), topic, subscriber)));
                                subscribed = true;
                            }
                            Err(error) => {
                                tracing::warn!(%error, topic, "NATS refused a subscription; local delivery only")
                            }
                        }
                    }
                    acks.push(ack);
                }
                SubOp::Leave { topic } => {
                    // The reader's subscriber, dropped, unsubscribes.
                    if let Some(reader) = readers.remove(&topic) {
                        reader.abort();
                    }
                }
            }
        }
        // The server handles a connection's commands in order: once a probe
        // published after the subscriptions comes back, it has them (a
        // flush only writes them to the socket). While NATS is unreachable,
        // joins are acknowledged for local delivery at once (the client
        // subscribes again when it reconnects).
        if subscribed && shared.counters.connected.load(Ordering::Acquire) {
            probes += 1;
            let confirmed =
                round_trip(&client, &probe_subject, &mut probe, probes, shared.config.connect_timeout);
            if !confirmed.await {
                tracing::warn!("NATS did not confirm new subscriptions in time");
            }
        }
        for ack in acks {
            let _ = ack.send(());
        }
    }
}

/// Publishes probe `n` to this instance's own probe subject and waits until
/// it comes back through the server (at most `timeout`).
async fn round_trip(
    client: &async_nats::Client,
    subject: &str,
    probe: &mut async_nats::Subscriber,
    n: u64,
    timeout: std::time::Duration,
) -> bool {
    let token = n.to_string();
    if client.publish(subject.to_owned(), token.clone().into()).await.is_err() {
        return false;
    }
    let back = async {
        while let Some(message) = probe.next().await {
            if message.payload == token.as_bytes() {
                return true;
            }
        }
        false
    };
    tokio::time::timeout(timeout, back).await.unwrap_or(false)
}

/// Delivers what other instances publish on `topic` to its local subscribers.
async fn read_topic(shared: Arc<Shared>, topic: String, mut subscriber: async_nats::Subscriber) {
    while let Some(message) = subscriber.next().await {
        match packet::decode(&message.payload) {
            Some(packet) if packet.instance == shared.instance => {}
            Some(packet) if packet.kind == Kind::Publish => {
                shared.counters.received.fetch_add(1, Ordering::Relaxed);
                shared.topics.publish(&topic, &packet.message, packet.socket);
            }
            _ => shared.junk(message.subject.as_str()),
        }
    }
}

/// Delivers direct sends to the sockets of this instance.
async fn read_direct(shared: Arc<Shared>, context: BackendContext, mut subscriber: async_nats::Subscriber) {
    while let Some(message) = subscriber.next().await {
        match packet::decode(&message.payload) {
            Some(packet) if packet.instance == shared.instance => {}
            Some(packet) if packet.kind == Kind::Direct => {
                shared.counters.received.fetch_add(1, Ordering::Relaxed);
                if let Some(target) = packet.socket {
                    context.deliver_to(target, &packet.message);
                }
            }
            _ => shared.junk(message.subject.as_str()),
        }
    }
}
