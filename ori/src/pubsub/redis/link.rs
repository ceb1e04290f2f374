//! The Redis side of a [`RedisBackend`](super::RedisBackend): a supervisor
//! that (re)connects and reads, a subscription manager, and a publisher.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use futures_util::StreamExt;
use redis::aio::{MultiplexedConnection, PubSubSink, PubSubStream};
use tokio::sync::{mpsc, oneshot, watch};

use super::presence;
use super::{Config, Links, Pending, Shared, incoming, without_password};
use crate::error::BoxError;
use crate::pubsub::{BackendContext, MAX_STATE_KEYS, Subscriber, presence_state};
use crate::util::backoff::{Backoff, retry};
use crate::util::sync::lock;

/// A change of the local subscriptions, sent in order.
pub(crate) enum SubOp {
    /// A connection joined the topic of `channel` (`first`: no other local one had).
    /// `ack` is answered once messages published anywhere reach it.
    Join { channel: String, first: bool, ack: oneshot::Sender<()> },
    /// The last local subscriber of `channel` left.
    Leave { channel: String },
}

/// A live pair of connections.
#[derive(Clone)]
pub(crate) struct Link {
    sink: PubSubSink,
    /// Publishes, and reads history.
    pub(crate) publisher: MultiplexedConnection,
}

async fn connect(client: &redis::Client, config: &Config) -> Result<(Link, PubSubStream), BoxError> {
    let pubsub = tokio::time::timeout(config.connect_timeout, client.get_async_pubsub())
        .await
        .map_err(|_| "timed out connecting to Redis")??;
    let (sink, stream) = pubsub.split();
    let publisher = client.get_multiplexed_async_connection_with_config(&connection_settings(config)).await?;
    Ok((Link { sink, publisher }, stream))
}

fn connection_settings(config: &Config) -> redis::AsyncConnectionConfig {
    redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(config.connect_timeout))
        .set_response_timeout(Some(config.response_timeout))
}

/// Connects and subscribes the direct and the reply channel: the instance
/// is reachable (at start-up and on every reconnection; topics are the
/// manager's).
async fn connect_live(shared: &Shared, client: &redis::Client) -> Result<(Link, PubSubStream), BoxError> {
    let (mut link, stream) = connect(client, &shared.config).await?;
    let mut own = shared.names.directs().to_vec();
    own.push(shared.reply_channel.clone());
    if !subscribe(shared, &mut link.sink, &own).await {
        return Err("Redis did not confirm the SUBSCRIBE of the direct and reply channels".into());
    }
    Ok((link, stream))
}

/// Whether Redis lost its data since this instance last saw it: the
/// generation kept at `<prefix>#generation` (made once, by whoever comes
/// first) is gone or another one.
async fn data_lost(shared: &Shared, connection: &mut MultiplexedConnection) -> bool {
    let key = format!("{}#generation", shared.config.prefix);
    let mine = crate::util::random::random_token();
    let current: Result<Option<String>, _> = redis::pipe()
        .cmd("SET")
        .arg(&key)
        .arg(&mine)
        .arg("NX")
        .ignore()
        .cmd("GET")
        .arg(&key)
        .query_async::<(Option<String>,)>(connection)
        .await
        .map(|(current,)| current);
    let Ok(Some(current)) = current else { return false };
    let previous = lock(&shared.generation).replace(current.clone());
    previous.is_some_and(|previous| previous != current)
}

/// Sends every local presence watcher its topic's state again, read now,
/// holding the diffs meanwhile (those already in the state are dropped):
/// after Redis lost its data, the instances' resyncs are joins of members
/// the watchers had already.
async fn refresh_watchers(shared: Arc<Shared>) {
    let Some(mut connection) = shared.connection() else { return };
    let keys = shared.presence_keys();
    for topic in shared.watchers.topics() {
        let held: Vec<Subscriber> =
            shared.watchers.subscribers(&topic).iter().map(Subscriber::held).collect();
        for watcher in &held {
            shared.watchers.insert(&topic, watcher);
        }
        let read = presence::read(&mut connection, &shared.scripts, &keys, &topic).await.unwrap_or_default();
        let state = presence_state(&topic, &read, MAX_STATE_KEYS);
        for watcher in held {
            watcher.release(read.version, std::slice::from_ref(&state));
        }
    }
}

/// Connects (or not, if allowed) and spawns the provider's tasks.
pub(crate) async fn start(shared: Arc<Shared>, context: BackendContext, url: &str) -> Result<(), BoxError> {
    let ops = lock(&shared.ops_rx).take().ok_or("the Redis provider was already started")?;
    let client = redis::Client::open(url).map_err(|e| format!("invalid Redis URL `{url}`: {e}"))?;
    let first = match connect_live(&shared, &client).await {
        Ok(connected) => Some(connected),
        Err(error) if shared.config.start_degraded => {
            tracing::warn!(%error, url = %without_password(url), "Redis unreachable at start-up; serving local traffic until it is");
            None
        }
        Err(error) => {
            return Err(format!(
                "cannot connect to Redis at `{}`: {error} (start it, fix the URL, or use `start_degraded(true)`)",
                without_password(url)
            )
            .into());
        }
    };
    if let Some((link, _)) = &first {
        shared.counters.set_connected(true);
        data_lost(&shared, &mut link.publisher.clone()).await;
    } else {
        // A degraded start: the time without Redis counts from now.
        shared.counters.outage_began_unless_connected();
    }
    let (links, link) = watch::channel(first.as_ref().map(|(link, _)| link.clone()));
    let _ = shared.links.set(Links::Single(link.clone()));
    let tasks = vec![
        tokio::spawn(presence::heartbeat(shared.clone())),
        tokio::spawn(manage_subscriptions(shared.clone(), ops, link.clone())),
        tokio::spawn(publish(shared.clone(), client.clone(), link)),
        tokio::spawn(supervise(shared.clone(), client, context, first.map(|(_, stream)| stream), links)),
    ];
    lock(&shared.tasks).extend(tasks);
    Ok(())
}

/// Keeps the connections up and reads the subscription stream.
async fn supervise(
    shared: Arc<Shared>,
    client: redis::Client,
    context: BackendContext,
    mut stream: Option<PubSubStream>,
    links: watch::Sender<Option<Link>>,
) {
    let config = &shared.config;
    loop {
        let stream_now = match stream.take() {
            Some(stream) => stream,
            None => {
                let lost_at = Instant::now();
                let backoff = Backoff::new(config.backoff_min, config.backoff_max);
                let (link, stream) =
                    retry(backoff, "Redis still unreachable", || connect_live(&shared, &client)).await;
                shared.counters.set_connected(true);
                shared.counters.reconnects.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    outage = ?lost_at.elapsed(),
                    dropped = shared.counters.dropped.load(Ordering::Relaxed),
                    "reconnected to Redis; re-subscribing"
                );
                let lost = data_lost(&shared, &mut link.publisher.clone()).await;
                links.send_replace(Some(link));
                // Presence changes made meanwhile, and the entries of an
                // instance reaped while it was away, are made good.
                shared.resync_presence();
                if lost {
                    tracing::warn!(
                        "Redis lost its data (restarted empty?); sending presence watchers a new state"
                    );
                    tokio::spawn(refresh_watchers(shared.clone()));
                }
                stream
            }
        };
        let sink = links.borrow().as_ref().map(|link| link.sink.clone());
        tokio::select! {
            () = read(&shared, &context, stream_now) => {}
            () = check_health(&shared, sink) => {}
        }
        // The link goes first: once `connected` reads false, no task publishes on the old one.
        links.send_replace(None);
        shared.counters.set_connected(false);
        tracing::warn!(
            url = %config.target.describe(),
            "lost the Redis connection; serving local traffic and reconnecting"
        );
    }
}

/// Pings Redis on the subscription connection every `health_check_interval`;
/// returns when a ping goes unanswered (a half-open connection, e.g. dropped
/// by a NAT or a load balancer, reads as silence, not as an error).
async fn check_health(shared: &Shared, sink: Option<PubSubSink>) {
    let Some(mut sink) = sink else { return };
    let config = &shared.config;
    loop {
        tokio::time::sleep(config.health_check_interval).await;
        match tokio::time::timeout(config.response_timeout, sink.ping::<redis::Value>()).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                tracing::warn!(%error, "Redis health check failed; reconnecting");
                return;
            }
            Err(_) => {
                tracing::warn!(timeout = ?config.response_timeout, "Redis did not answer a health check; reconnecting");
                return;
            }
        }
    }
}

/// Delivers what the subscription stream brings until the connection ends.
async fn read(shared: &Arc<Shared>, context: &BackendContext, mut stream: PubSubStream) {
    while let Some(message) = stream.next().await {
        incoming::dispatch(shared, context, message.get_channel_name(), message.get_payload_bytes());
    }
}

/// Turns local subscription changes into `SUBSCRIBE`/`UNSUBSCRIBE`, batched,
/// and acknowledges joins once their channel is live.
async fn manage_subscriptions(
    shared: Arc<Shared>,
    mut ops: mpsc::UnboundedReceiver<SubOp>,
    mut links: watch::Receiver<Option<Link>>,
) {
    let mut sink = links.borrow_and_update().as_ref().map(|l| l.sink.clone());
    let mut live: HashSet<String> = HashSet::new();
    let mut waiting: HashMap<String, Vec<oneshot::Sender<()>>> = HashMap::new();
    loop {
        tokio::select! {
            changed = links.changed() => {
                if changed.is_err() {
                    return;
                }
                live.clear();
                sink = links.borrow_and_update().as_ref().map(|l| l.sink.clone());
                if let Some(current) = sink.as_mut() {
                    go_live(&shared, current, &mut live).await;
                    // The publisher may send what waited: every instance listens again.
                    shared.resubscribed.send_modify(|rounds| *rounds += 1);
                }
                // Joins waiting on the old connection: live now, or local-only until reconnected.
                for (_, acks) in waiting.drain() {
                    for ack in acks {
                        let _ = ack.send(());
                    }
                }
            }
            op = ops.recv() => {
                let Some(op) = op else { return };
                let mut batch = vec![op];
                while let Ok(op) = ops.try_recv() {
                    batch.push(op);
                }
                apply(&shared, sink.as_mut(), &mut live, &mut waiting, batch).await;
            }
        }
    }
}

/// Subscribes a new connection to every topic with local subscribers
/// (including those joined while Redis was unreachable).
async fn go_live(shared: &Shared, sink: &mut PubSubSink, live: &mut HashSet<String>) {
    let channels: Vec<String> = shared.topics.topics().iter().map(|t| shared.channel(t)).collect();
    if subscribe(shared, sink, &channels).await {
        live.extend(channels);
    }
}

async fn apply(
    shared: &Shared,
    sink: Option<&mut PubSubSink>,
    live: &mut HashSet<String>,
    waiting: &mut HashMap<String, Vec<oneshot::Sender<()>>>,
    batch: Vec<SubOp>,
) {
    // The last change of each channel decides whether it should be subscribed.
    let mut wanted: HashMap<String, bool> = HashMap::new();
    let mut acks = Vec::new();
    for op in batch {
        match op {
            SubOp::Join { channel, first, ack } => {
                if first || !live.contains(&channel) {
                    wanted.insert(channel.clone(), true);
                }
                acks.push((channel, ack));
            }
            SubOp::Leave { channel } => {
                wanted.insert(channel, false);
            }
        }
    }
    let Some(sink) = sink else {
        // Disconnected: local delivery now; channels are re-subscribed on reconnect.
        for (_, ack) in acks {
            let _ = ack.send(());
        }
        return;
    };
    let to_subscribe: Vec<String> =
        wanted.iter().filter(|(c, w)| **w && !live.contains(*c)).map(|(c, _)| c.clone()).collect();
    let to_unsubscribe: Vec<String> =
        wanted.iter().filter(|(c, w)| !**w && live.contains(*c)).map(|(c, _)| c.clone()).collect();
    if !to_unsubscribe.is_empty() {
        for channel in &to_unsubscribe {
            live.remove(channel);
        }
        let unsubscribed =
            tokio::time::timeout(shared.config.response_timeout, sink.unsubscribe(&to_unsubscribe)).await;
        if !matches!(unsubscribed, Ok(Ok(()))) {
            tracing::warn!(
                "Redis did not confirm an UNSUBSCRIBE; the connection will be replaced if it is lost"
            );
        }
    }
    if !to_subscribe.is_empty() && subscribe(shared, sink, &to_subscribe).await {
        live.extend(to_subscribe);
    }
    for (channel, ack) in acks {
        if live.contains(&channel) {
            let _ = ack.send(());
        } else {
            waiting.entry(channel).or_default().push(ack);
        }
    }
    // A channel that failed to subscribe stays out of `live`; its joins are
    // answered when the connection is replaced (local delivery meanwhile).
}

/// `SUBSCRIBE`s `channels`, waiting for Redis's confirmation.
async fn subscribe(shared: &Shared, sink: &mut PubSubSink, channels: &[String]) -> bool {
    if channels.is_empty() {
        return true;
    }
    match tokio::time::timeout(shared.config.response_timeout, sink.subscribe(channels)).await {
        Ok(Ok(())) => true,
        Ok(Err(error)) => {
            tracing::warn!(%error, "Redis refused a SUBSCRIBE");
            false
        }
        Err(_) => {
            tracing::warn!("Redis did not confirm a SUBSCRIBE in time");
            false
        }
    }
}

/// Sends queued publishes, pipelined, in order; keeps what an outage allows.
async fn publish(shared: Arc<Shared>, client: redis::Client, mut links: watch::Receiver<Option<Link>>) {
    let mut connection = links.borrow_and_update().as_ref().map(|l| l.publisher.clone());
    loop {
        if links.has_changed().unwrap_or(false) {
            connection = links.borrow_and_update().as_ref().map(|l| l.publisher.clone());
        }
        let Some(conn) = connection.as_mut() else {
            shared.outgoing.trim_to_outage_buffer(shared.config.limits, &shared.counters, "Redis");
            let mut resubscribed = shared.resubscribed.subscribe();
            if links.changed().await.is_err() {
                return;
            }
            connection = links.borrow_and_update().as_ref().map(|l| l.publisher.clone());
            // What waited is sent once this instance listens again (its own
            // history topics and presence are delivered through Redis too).
            let _ = tokio::time::timeout(shared.config.response_timeout, resubscribed.changed()).await;
            continue;
        };
        let batch: Vec<Pending> = shared.outgoing.take(512);
        if batch.is_empty() {
            tokio::select! {
                () = shared.outgoing.ready() => {}
                changed = links.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    connection = links.borrow_and_update().as_ref().map(|l| l.publisher.clone());
                }
            }
            continue;
        }
        let mut pipe = redis::pipe();
        shared.pipe_batch(&mut pipe, &batch);
        let sent = tokio::time::timeout(shared.config.response_timeout, pipe.query_async::<()>(conn)).await;
        shared.outgoing.sent();
        if matches!(sent, Ok(Ok(()))) {
            shared.counters.published.fetch_add(batch.len() as u64, Ordering::Relaxed);
            continue;
        }
        // Redis may have delivered part of the batch before failing: sending it
        // again could deliver a message twice, so it is dropped (at most once).
        let dropped = shared.counters.dropped.fetch_add(batch.len() as u64, Ordering::Relaxed);
        tracing::warn!(
            lost = batch.len(),
            dropped = dropped + batch.len() as u64,
            "a publish to Redis failed; dropping its batch and waiting for a new connection"
        );
        // A new connection: the supervisor's next link (after an outage), or
        // a fresh one of our own if only the publishing connection broke.
        tokio::select! {
            changed = links.changed() => {
                if changed.is_err() {
                    return;
                }
                connection = links.borrow_and_update().as_ref().map(|l| l.publisher.clone());
            }
            fresh = reconnect_publisher(&shared, &client) => connection = Some(fresh),
        }
    }
}

/// A new publishing connection, retried with backoff until it is made.
async fn reconnect_publisher(shared: &Shared, client: &redis::Client) -> MultiplexedConnection {
    let config = &shared.config;
    let backoff = Backoff::new(config.backoff_min, config.backoff_max);
    let settings = connection_settings(config);
    retry(backoff, "publishing connection to Redis still down", || {
        client.get_multiplexed_async_connection_with_config(&settings)
    })
    .await
}
