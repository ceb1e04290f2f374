//! The publisher: what waits, one pipeline per master, in order per slot;
//! what a master did not run is kept until the map changes.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures_util::future::join_all;
use redis::Value;
use redis::aio::ConnectionLike;

use super::{Shard, Topology};
use crate::pubsub::redis::slots::NodeAddr;
use crate::pubsub::redis::{Pending, Shared};

/// What became of one command sent to a master.
enum Outcome {
    Sent,
    /// Did not run (`MOVED`, `ASK`, `CLUSTERDOWN`, `TRYAGAIN`): sent again after the map changes.
    Again,
    /// Refused for good (dropped and counted).
    Refused,
    /// Lost with its connection; it may have run (dropped and counted).
    Lost,
}

/// Sends queued publishes, one pipeline per master, in order per slot.
pub(super) async fn publish(shared: Arc<Shared>, topology: Arc<Topology>) {
    let mut changed = topology.changed.subscribe();
    // Publishes that wait for their slot's master, oldest first.
    let mut parked: VecDeque<Pending> = VecDeque::new();
    // Whether the map changed since they were parked (then they are sent again).
    let mut moved = false;
    loop {
        if parked.is_empty() {
            changed.mark_unchanged();
            moved = false;
        }
        moved |= changed.has_changed().unwrap_or(false);
        let batch = shared.outgoing.take(512);
        if batch.is_empty() && !moved {
            tokio::select! {
                () = shared.outgoing.ready() => {}
                read = changed.changed(), if !parked.is_empty() => {
                    if read.is_err() {
                        return;
                    }
                    moved = true;
                }
            }
            continue;
        }
        changed.mark_unchanged();
        let work: Vec<Pending> =
            if std::mem::take(&mut moved) { parked.drain(..).chain(batch).collect() } else { batch };
        let snapshot = topology.snapshot();
        let mut by_master: HashMap<&NodeAddr, (&Shard, Vec<Pending>)> = HashMap::new();
        for pending in work {
            match snapshot.owner(shared.slot_of(&pending)) {
                Some((node, shard)) => by_master.entry(node).or_insert((shard, Vec::new())).1.push(pending),
                None => park(&shared, &mut parked, pending),
            }
        }
        let sends =
            by_master.into_values().map(|(shard, batch)| send(&shared, &topology, shard.clone(), batch));
        for (id, results) in join_all(sends).await {
            let mut lost = false;
            for (pending, outcome) in results {
                match outcome {
                    Outcome::Sent => {
                        shared.counters.published.fetch_add(1, Ordering::Relaxed);
                    }
                    Outcome::Again => park(&shared, &mut parked, pending),
                    Outcome::Refused => shared.counters.dropped("Redis Cluster", "a master refused it"),
                    Outcome::Lost => {
                        lost = true;
                        shared.counters.dropped("Redis Cluster", "its master's connection broke");
                    }
                }
            }
            if lost {
                topology.lost(id, &shared.counters);
            }
        }
        if !parked.is_empty() {
            topology.refresh.notify_one();
        }
        shared.outgoing.sent();
    }
}

/// Keeps `pending` until its slot's master can take it (within the outage buffer).
fn park(shared: &Shared, parked: &mut VecDeque<Pending>, pending: Pending) {
    if parked.len() >= shared.config.limits.outage_buffer {
        shared
            .counters
            .dropped("Redis Cluster", "a slot has no reachable master and the outage buffer is full");
    } else {
        parked.push_back(pending);
    }
}

/// Sends `batch` to one master, pipelined; each publish's outcome.
async fn send(
    shared: &Shared,
    topology: &Topology,
    mut shard: Shard,
    batch: Vec<Pending>,
) -> (u64, Vec<(Pending, Outcome)>) {
    let mut pipe = redis::pipe();
    let scripts = shared.pipe_batch(&mut pipe, &batch);
    let sent = tokio::time::timeout(
        shared.config.response_timeout,
        shard.publisher.req_packed_commands(&pipe, 0, pipe.len()),
    )
    .await;
    let replies = match sent {
        Ok(Ok(replies)) if replies.len() == batch.len() + scripts => replies,
        _ => {
            // It may have run in part: sending it again could deliver twice (at most once).
            tracing::warn!(
                lost = batch.len(),
                "a publish to a Redis Cluster master failed; dropping its batch"
            );
            return (shard.id, batch.into_iter().map(|pending| (pending, Outcome::Lost)).collect());
        }
    };
    let outcomes = batch
        .into_iter()
        .zip(replies.into_iter().skip(scripts))
        .map(|(pending, reply)| {
            let outcome = match reply {
                Value::ServerError(error) => match error.code() {
                    "MOVED" | "ASK" => {
                        topology.redirects.fetch_add(1, Ordering::Relaxed);
                        Outcome::Again
                    }
                    "CLUSTERDOWN" | "TRYAGAIN" => {
                        topology.cluster_down.fetch_add(1, Ordering::Relaxed);
                        Outcome::Again
                    }
                    _ => {
                        tracing::warn!(%error, "a Redis Cluster master refused a publish");
                        Outcome::Refused
                    }
                },
                _ => Outcome::Sent,
            };
            (pending, outcome)
        })
        .collect();
    (shard.id, outcomes)
}
