//! The subscription manager: each wanted channel subscribed on the master
//! of its slot; and the reader of what the masters push.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use redis::aio::MultiplexedConnection;
use redis::{PushInfo, PushKind, Value};
use tokio::sync::{mpsc, oneshot};

use super::{Shard, Topology};
use crate::pubsub::BackendContext;
use crate::pubsub::redis::link::SubOp;
use crate::pubsub::redis::{Shared, incoming};
use crate::util::sync::lock;

/// Delivers what the masters push, and reports channels they unsubscribed
/// (a slot moved) and connections that closed.
pub(super) async fn read(
    shared: Arc<Shared>,
    context: BackendContext,
    topology: Arc<Topology>,
    mut pushes: mpsc::UnboundedReceiver<(u64, PushInfo)>,
    kicked: mpsc::UnboundedSender<(u64, String)>,
) {
    while let Some((id, push)) = pushes.recv().await {
        match push.kind {
            PushKind::SMessage => match &push.data[..] {
                [Value::BulkString(channel), Value::BulkString(payload)] => {
                    match std::str::from_utf8(channel) {
                        Ok(channel) => incoming::dispatch(&shared, &context, channel, payload),
                        Err(_) => shared.counters.junk("(not UTF-8)"),
                    }
                }
                _ => shared.counters.junk("(a push without a channel)"),
            },
            PushKind::SUnsubscribe => {
                if let Some(Value::BulkString(channel)) = push.data.first()
                    && let Ok(channel) = String::from_utf8(channel.clone())
                {
                    let _ = kicked.send((id, channel));
                }
            }
            PushKind::Disconnection => topology.lost(id, &shared.counters),
            _ => {}
        }
    }
}

/// The channels this instance listens on, and where.
pub(super) struct Subscriptions {
    shared: Arc<Shared>,
    topology: Arc<Topology>,
    /// Always wanted: the direct channels and this instance's reply channel.
    own: Vec<String>,
    /// Each subscribed channel, and the connections (by id) it is subscribed on.
    live: HashMap<String, u64>,
    /// Joins waiting for their channel.
    waiting: HashMap<String, Vec<oneshot::Sender<()>>>,
}

impl Subscriptions {
    pub(super) fn new(shared: Arc<Shared>, topology: Arc<Topology>) -> Subscriptions {
        let mut own = shared.names.directs().to_vec();
        own.push(shared.reply_channel.clone());
        Subscriptions { shared, topology, own, live: HashMap::new(), waiting: HashMap::new() }
    }

    pub(super) async fn run(
        mut self,
        mut ops: mpsc::UnboundedReceiver<SubOp>,
        mut kicked: mpsc::UnboundedReceiver<(u64, String)>,
    ) {
        let mut changed = self.topology.changed.subscribe();
        loop {
            tokio::select! {
                moved = changed.changed() => {
                    if moved.is_err() {
                        return;
                    }
                    self.place().await;
                    // Joins whose master is unreachable: local delivery now, subscribed once it is back.
                    for (_, acks) in self.waiting.drain() {
                        for ack in acks {
                            let _ = ack.send(());
                        }
                    }
                }
                Some((id, channel)) = kicked.recv() => {
                    // Our own SUNSUBSCRIBE is answered so too; a channel still wanted was moved.
                    if self.live.get(&channel) == Some(&id) && self.is_wanted(&channel) {
                        self.live.remove(&channel);
                        self.topology.refresh.notify_one();
                    }
                }
                op = ops.recv() => {
                    let Some(op) = op else { return };
                    let mut batch = vec![op];
                    while let Ok(op) = ops.try_recv() {
                        batch.push(op);
                    }
                    self.apply(batch).await;
                }
            }
        }
    }

    fn is_wanted(&self, channel: &str) -> bool {
        self.own.iter().any(|own| own == channel)
            || self
                .shared
                .names
                .topic_of(channel)
                .is_some_and(|topic| self.shared.topics.subscriber_count(topic) > 0)
    }

    /// Subscribes every wanted channel that is not subscribed on its slot's master now.
    pub(super) async fn place(&mut self) {
        let mut wanted = self.own.clone();
        wanted.extend(self.shared.topics.topics().iter().map(|topic| self.shared.channel(topic)));
        self.live.retain(|channel, _| wanted.contains(channel));
        self.subscribe(wanted).await;
    }

    /// `SSUBSCRIBE`s each of `channels` not yet live on the master of its slot.
    async fn subscribe(&mut self, channels: Vec<String>) {
        let placed: Vec<(String, Shard)> = channels
            .into_iter()
            .filter_map(|channel| {
                let (_, shard) = self.topology.shard_for(&channel)?;
                (self.live.get(&channel) != Some(&shard.id)).then_some((channel, shard))
            })
            .collect();
        let timeout = self.shared.config.response_timeout;
        let subscribing = placed.into_iter().map(|(channel, mut shard)| async move {
            let answer = confirm(&mut shard.subscriber, "SSUBSCRIBE", &channel, timeout).await;
            (channel, shard.id, answer)
        });
        for (channel, id, answer) in join_all(subscribing).await {
            match answer {
                Answer::Done => {
                    self.live.insert(channel, id);
                }
                // The map is out of date (MOVED), or the master is failing: read it again.
                Answer::Refused => self.topology.refresh.notify_one(),
                Answer::Broken => self.topology.lost(id, &self.shared.counters),
            }
        }
    }

    async fn apply(&mut self, batch: Vec<SubOp>) {
        // The last change of each channel decides whether it should be subscribed.
        let mut wanted: HashMap<String, bool> = HashMap::new();
        let mut acks = Vec::new();
        for op in batch {
            match op {
                SubOp::Join { channel, ack, .. } => {
                    wanted.insert(channel.clone(), true);
                    acks.push((channel, ack));
                }
                SubOp::Leave { channel } => {
                    wanted.insert(channel, false);
                }
            }
        }
        let (join, leave): (Vec<_>, Vec<_>) = wanted.into_iter().partition(|(_, wanted)| *wanted);
        for (channel, _) in leave {
            if let Some(id) = self.live.remove(&channel) {
                let shard = lock(&self.topology.current).shards.values().find(|s| s.id == id).cloned();
                if let Some(mut shard) = shard {
                    let timeout = self.shared.config.response_timeout;
                    if confirm(&mut shard.subscriber, "SUNSUBSCRIBE", &channel, timeout).await
                        == Answer::Broken
                    {
                        self.topology.lost(id, &self.shared.counters);
                    }
                }
            }
        }
        self.subscribe(join.into_iter().map(|(channel, _)| channel).collect()).await;
        for (channel, ack) in acks {
            if self.live.contains_key(&channel) || self.topology.shard_for(&channel).is_none() {
                // Live, or its master is unreachable: local delivery until it is back.
                let _ = ack.send(());
            } else {
                self.waiting.entry(channel).or_default().push(ack);
            }
        }
    }
}

/// How a subscribing connection answered one command.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    /// As expected.
    Done,
    /// Refused (`MOVED`, `CLUSTERDOWN`, ..): the map is out of date.
    Refused,
    /// No answer in time, a broken connection, or an answer to another
    /// command: a master's unsolicited `sunsubscribe` (a slot moved) can be
    /// taken by the connection for the answer to a command in flight, which
    /// puts every later answer out of step. The connection is replaced.
    Broken,
}

/// Sends `SSUBSCRIBE` or `SUNSUBSCRIBE` for `channel` on a subscribing
/// connection and checks that the answer confirms that very channel.
async fn confirm(
    connection: &mut MultiplexedConnection,
    command: &str,
    channel: &str,
    timeout: Duration,
) -> Answer {
    let expected = if command == "SSUBSCRIBE" { PushKind::SSubscribe } else { PushKind::SUnsubscribe };
    let mut sent = redis::cmd(command);
    let sent = sent.arg(channel).query_async::<Value>(connection);
    match tokio::time::timeout(timeout, sent).await {
        Ok(Ok(Value::Push { kind, data })) if kind == expected => match data.first() {
            Some(Value::BulkString(confirmed)) if confirmed == channel.as_bytes() => Answer::Done,
            _ => Answer::Broken,
        },
        Ok(Err(error)) if error.code().is_some() => Answer::Refused,
        _ => Answer::Broken,
    }
}
