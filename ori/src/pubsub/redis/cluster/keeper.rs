//! The keeper: reads the slot map, connects to its masters, drops the
//! connections of nodes that are no longer masters, and checks the
//! subscribing connections.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures_util::future::join_all;
use redis::aio::MultiplexedConnection;
use redis::{ConnectionAddr, Value};

use super::{Nodes, Shard, Topology};
use crate::pubsub::redis::Shared;
use crate::pubsub::redis::slots::{NodeAddr, SlotMap};
use crate::util::backoff::Backoff;
use crate::util::sync::lock;

/// Reads the map from a master already connected, else from a seed.
async fn read_map(nodes: &Nodes, topology: &Topology) -> Result<SlotMap, String> {
    let known: Vec<(NodeAddr, MultiplexedConnection)> = lock(&topology.current)
        .shards
        .iter()
        .map(|(node, shard)| (node.clone(), shard.publisher.clone()))
        .collect();
    let mut errors = Vec::new();
    for (node, mut connection) in known {
        match cluster_slots(&mut connection, &node).await {
            Ok(map) => return Ok(map),
            Err(error) => errors.push(format!("{node}: {error}")),
        }
    }
    for seed in &nodes.seeds {
        let asked = match seed.addr() {
            ConnectionAddr::Tcp(host, port) => NodeAddr { host: host.clone(), port: *port },
            other => return Err(format!("a cluster seed must be a TCP address, not {other}")),
        };
        match nodes.connect(seed.clone()).await {
            Ok(mut connection) => match cluster_slots(&mut connection, &asked).await {
                Ok(map) => return Ok(map),
                Err(error) => errors.push(format!("{asked}: {error}")),
            },
            Err(error) => errors.push(format!("{asked}: {error}")),
        }
    }
    Err(errors.join("; "))
}

async fn cluster_slots(connection: &mut MultiplexedConnection, node: &NodeAddr) -> Result<SlotMap, String> {
    let reply: Value =
        redis::cmd("CLUSTER").arg("SLOTS").query_async(connection).await.map_err(|e| e.to_string())?;
    SlotMap::parse(&reply, node)
}

/// Reads the map and connects to its masters; whether every slot is
/// served. `first`: at start-up (not a reconnection).
pub(super) async fn refresh(
    shared: &Shared,
    nodes: &Nodes,
    topology: &Topology,
    first: bool,
) -> Result<bool, String> {
    let map = read_map(nodes, topology).await?;
    let missing: Vec<NodeAddr> = {
        let mut current = lock(&topology.current);
        // Nodes that are no longer masters (a failed master, demoted) are let go.
        current.shards.retain(|node, _| map.masters.contains(node));
        map.masters.iter().filter(|node| !current.shards.contains_key(*node)).cloned().collect()
    };
    let connecting = missing.iter().map(|node| async move {
        let id = topology.next_id.fetch_add(1, Ordering::Relaxed);
        (node, nodes.shard(node, id).await)
    });
    let mut unreachable = Vec::new();
    for (node, connected) in join_all(connecting).await {
        match connected {
            Ok(shard) => {
                lock(&topology.current).shards.insert(node.clone(), shard);
            }
            Err(error) => unreachable.push(format!("{node}: {error}")),
        }
    }
    let complete = map.is_complete() && unreachable.is_empty();
    tracing::debug!(
        complete,
        masters = map.masters.len(),
        unreachable = unreachable.join("; "),
        "read the Redis Cluster's slot map"
    );
    lock(&topology.current).map = Some(Arc::new(map));
    let was = shared.counters.is_connected();
    shared.counters.set_connected(complete);
    if complete && !was && !first {
        shared.counters.reconnects.fetch_add(1, Ordering::Relaxed);
        tracing::info!("every slot of the Redis Cluster is served again; re-subscribing");
    } else if !complete && was {
        tracing::warn!(
            "a slot of the Redis Cluster has no reachable master; serving local traffic meanwhile"
        );
    }
    Ok(complete)
}

/// Reads the map again when asked (at most every `backoff_min`), with
/// backoff while a slot has no reachable master, and checks the
/// subscribing connections every health check interval.
pub(super) async fn keep(shared: Arc<Shared>, nodes: Nodes, topology: Arc<Topology>) {
    let config = &shared.config;
    let mut backoff = Backoff::new(config.backoff_min, config.backoff_max);
    let mut complete = shared.counters.is_connected();
    loop {
        if complete {
            tokio::select! {
                () = topology.refresh.notified() => {}
                () = tokio::time::sleep(config.health_check_interval) => check_health(&shared, &topology).await,
            }
            tokio::time::sleep(config.backoff_min).await;
        } else {
            tokio::time::sleep(backoff.next_delay()).await;
        }
        complete = match refresh(&shared, &nodes, &topology, false).await {
            Ok(complete) => complete,
            Err(error) => {
                if backoff.attempt() == 1 {
                    tracing::warn!(%error, "cannot read the Redis Cluster's slot map; retrying");
                } else {
                    tracing::debug!(%error, "cannot read the Redis Cluster's slot map; retrying");
                }
                shared.counters.set_connected(false);
                false
            }
        };
        if complete {
            backoff = Backoff::new(config.backoff_min, config.backoff_max);
        }
        topology.changed.send_modify(|n| *n += 1);
    }
}

/// Pings each master's subscribing connection; one that does not answer
/// in time is dropped (a half-open connection reads as silence).
async fn check_health(shared: &Shared, topology: &Topology) {
    let config = &shared.config;
    let shards: Vec<Shard> = lock(&topology.current).shards.values().cloned().collect();
    let pings = shards.into_iter().map(|mut shard| async move {
        let ping = redis::cmd("PING");
        let ping = ping.query_async::<Value>(&mut shard.subscriber);
        // A push instead of `PONG` is an answer out of step (see `Answer::Broken`).
        let answered = matches!(
            tokio::time::timeout(config.response_timeout, ping).await,
            Ok(Ok(Value::SimpleString(_)))
        );
        (shard.id, answered)
    });
    for (id, answered) in join_all(pings).await {
        if !answered {
            tracing::warn!("a Redis Cluster master did not answer a health check; reconnecting");
            topology.lost(id, &shared.counters);
        }
    }
}
