//! A real Redis Cluster per test: six `redis-server --cluster-enabled yes`
//! on free loopback ports, joined by `redis-cli --cluster create` into three
//! masters with a replica each. The test can kill a master (its replica is
//! promoted), move a slot, or stop and start every node (an outage).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a node waits before it calls a silent master failed (ms).
const NODE_TIMEOUT_MS: u64 = 1000;

/// One node: its client and cluster bus ports.
#[derive(Debug)]
struct Node {
    port: u16,
    bus: u16,
    child: Option<Child>,
    /// Stopped (SIGSTOP): running, but answering nothing.
    stopped: bool,
}

/// A master as `CLUSTER NODES` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Master {
    /// Its client port on 127.0.0.1.
    pub port: u16,
    /// Its node id.
    pub id: String,
    /// How many slots it serves.
    pub slots: usize,
}

/// Six nodes: three masters, three replicas. Every node is killed when dropped.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<Node>,
    dir: PathBuf,
}

impl RedisCluster {
    /// Starts the six nodes and forms the cluster, waiting until every node
    /// says `cluster_state:ok`. `None` as for [`RedisServer::start`](crate::redis_server::RedisServer::start).
    pub fn start() -> Option<RedisCluster> {
        crate::require_tool(
            "redis-server",
            "redis-server is not on the PATH, and the Redis Cluster tests need it",
        )?;
        crate::require_tool(
            "redis-cli",
            "redis-cli is not on the PATH, and the Redis Cluster tests need it to form one",
        )?;
        let ports = crate::free_ports(12);
        let dir = std::env::temp_dir().join(format!("ori-cluster-{}-{}", std::process::id(), ports[0]));
        let nodes =
            (0..6).map(|i| Node { port: ports[i], bus: ports[i + 6], child: None, stopped: false }).collect();
        let mut cluster = RedisCluster { nodes, dir };
        for index in 0..6 {
            cluster.start_node(index);
        }
        let addresses: Vec<String> = cluster.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("redis-cli runs");
        assert!(
            created.status.success(),
            "redis-cli --cluster create: {}",
            String::from_utf8_lossy(&created.stderr)
        );
        cluster.wait_ok();
        Some(cluster)
    }

    fn start_node(&mut self, index: usize) {
        let node = &mut self.nodes[index];
        assert!(node.child.is_none(), "already running");
        let dir = self.dir.join(node.port.to_string());
        std::fs::create_dir_all(&dir).expect("a node directory");
        let child = Command::new("redis-server")
            .args(["--port", &node.port.to_string(), "--cluster-port", &node.bus.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"])
            .args(["--cluster-node-timeout", &NODE_TIMEOUT_MS.to_string()])
            // Replicas in sync at once (not after the default 5 s wait for
            // more replicas), and promoted however long they were cut off.
            .args(["--repl-diskless-sync-delay", "0", "--cluster-replica-validity-factor", "0"])
            .arg("--dir")
            .arg(&dir)
            .arg("--logfile")
            .arg(dir.join("redis.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        node.child = Some(child);
        let port = node.port;
        let deadline = Instant::now() + Duration::from_secs(10);
        while query::<String>(port, &mut redis::cmd("PING")).is_none() {
            let log = std::fs::read_to_string(dir.join("redis.log")).unwrap_or_default();
            assert!(
                Instant::now() < deadline,
                "the cluster node on {port} did not answer within 10 s; its log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `redis+cluster://` with the first three nodes as seeds.
    pub fn url(&self) -> String {
        let seeds: Vec<String> = self.nodes[..3].iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
        format!("redis+cluster://{}", seeds.join(","))
    }

    /// Waits until every running node says `cluster_state:ok`, they agree
    /// on three masters, and every replica is in sync with its master.
    pub fn wait_ok(&self) {
        wait_until(Duration::from_secs(30), "cluster_state:ok on every node, replicas in sync", || {
            self.running().all(|port| {
                query::<String>(port, redis::cmd("CLUSTER").arg("INFO"))
                    .is_some_and(|info| info.contains("cluster_state:ok"))
                    && self.masters_seen_by(port).len() == 3
                    && query::<String>(port, redis::cmd("INFO").arg("replication")).is_some_and(|info| {
                        info.contains("role:master") || info.contains("master_link_status:up")
                    })
            })
        });
    }

    /// The nodes that answer: started, and not stopped.
    fn running(&self) -> impl Iterator<Item = u16> + '_ {
        self.nodes.iter().filter(|n| n.child.is_some() && !n.stopped).map(|n| n.port)
    }

    /// The masters serving slots, as a running node sees them, by port.
    pub fn masters(&self) -> Vec<Master> {
        let port = self.running().next().expect("a running node");
        self.masters_seen_by(port)
    }

    fn masters_seen_by(&self, port: u16) -> Vec<Master> {
        let Some(nodes) = query::<String>(port, redis::cmd("CLUSTER").arg("NODES")) else {
            return Vec::new();
        };
        let mut masters: Vec<Master> = nodes
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split(' ').collect();
                let flags = fields.get(2)?;
                if !flags.contains("master") || flags.contains("fail") || fields.len() <= 8 {
                    return None;
                }
                let port = fields[1].split(['@', ':']).nth(1)?.parse().ok()?;
                let slots = fields[8..]
                    .iter()
                    .filter(|range| !range.starts_with('['))
                    .map(|range| match range.split_once('-') {
                        Some((a, b)) => b.parse::<usize>().unwrap_or(0) + 1 - a.parse::<usize>().unwrap_or(0),
                        None => 1,
                    })
                    .sum();
                Some(Master { port, id: fields[0].to_owned(), slots })
            })
            .collect();
        masters.sort_by_key(|m| m.port);
        masters
    }

    /// `CONFIG SET parameter value` on every running node.
    pub fn config_set(&self, parameter: &str, value: &str) {
        for port in self.running() {
            query::<String>(port, redis::cmd("CONFIG").arg("SET").arg(parameter).arg(value))
                .unwrap_or_else(|| panic!("CONFIG SET {parameter} {value} on {port}"));
        }
    }

    /// The ports of the replicas of the master `id`.
    pub fn replicas_of(&self, id: &str) -> Vec<u16> {
        let port = self.running().next().expect("a running node");
        let nodes: String = query(port, redis::cmd("CLUSTER").arg("NODES")).expect("CLUSTER NODES");
        nodes
            .lines()
            .filter(|line| line.split(' ').nth(3) == Some(id))
            .filter_map(|line| line.split(' ').nth(1)?.split(['@', ':']).nth(1)?.parse().ok())
            .collect()
    }

    /// The master serving `slot`.
    pub fn master_of(&self, slot: u16) -> Master {
        let port = self.running().next().expect("a running node");
        let slots: redis::Value = query(port, redis::cmd("CLUSTER").arg("SLOTS")).expect("CLUSTER SLOTS");
        let redis::Value::Array(ranges) = slots else { panic!("CLUSTER SLOTS: {slots:?}") };
        for range in ranges {
            let redis::Value::Array(fields) = range else { continue };
            let (redis::Value::Int(start), redis::Value::Int(end), redis::Value::Array(master)) =
                (&fields[0], &fields[1], &fields[2])
            else {
                continue;
            };
            if (*start..=*end).contains(&i64::from(slot)) {
                let redis::Value::Int(master_port) = master[1] else { panic!("a port: {master:?}") };
                return self
                    .masters()
                    .into_iter()
                    .find(|m| i64::from(m.port) == master_port)
                    .expect("listed");
            }
        }
        panic!("no master serves slot {slot}")
    }

    /// The slot of `key`, as the cluster computes it.
    pub fn slot_of(&self, key: &str) -> u16 {
        let port = self.running().next().expect("a running node");
        query(port, redis::cmd("CLUSTER").arg("KEYSLOT").arg(key)).expect("CLUSTER KEYSLOT")
    }

    /// Sharded channels with subscribers on each master, by port.
    pub fn shard_channels(&self) -> HashMap<u16, Vec<String>> {
        self.masters()
            .into_iter()
            .map(|master| {
                let channels =
                    query(master.port, redis::cmd("PUBSUB").arg("SHARDCHANNELS")).unwrap_or_default();
                (master.port, channels)
            })
            .collect()
    }

    /// Kills the node on `port` (no FIN to its clients is guaranteed).
    pub fn kill_node(&mut self, port: u16) {
        let node = self.nodes.iter_mut().find(|n| n.port == port).expect("a node of this cluster");
        crate::kill_child(&mut node.child);
    }

    /// Sends `signal` (`-STOP`, `-CONT`) to the node on `port`: a stopped
    /// node keeps its connections open and answers nothing.
    pub fn signal_node(&mut self, port: u16, signal: &str) {
        let node = self.nodes.iter_mut().find(|n| n.port == port).expect("a node of this cluster");
        let pid = node.child.as_ref().expect("running").id().to_string();
        let status = Command::new("kill").args([signal, &pid]).status().expect("kill runs");
        assert!(status.success(), "kill {signal} {pid}");
        node.stopped = signal == "-STOP";
    }

    /// Starts every killed node again (they rejoin from their `nodes.conf`).
    pub fn restart_killed(&mut self) {
        for index in 0..self.nodes.len() {
            if self.nodes[index].child.is_none() {
                self.start_node(index);
            }
        }
    }

    /// Kills every node (an outage of the whole cluster).
    pub fn kill(&mut self) {
        for node in &mut self.nodes {
            crate::kill_child(&mut node.child);
        }
    }

    /// Starts every node again and waits for `cluster_state:ok`.
    pub fn resume(&mut self) {
        self.restart_killed();
        self.wait_ok();
    }

    /// Moves `slot` (and its keys) from its master to the master on `to`,
    /// as `redis-cli --cluster reshard` does.
    pub fn migrate_slot(&self, slot: u16, to: u16) {
        let from = self.master_of(slot);
        let target = self.masters().into_iter().find(|m| m.port == to).expect("a master");
        assert_ne!(from.port, target.port, "slot {slot} is already on {to}");
        let setslot = |port: u16, args: &[&str]| {
            let mut cmd = redis::cmd("CLUSTER");
            cmd.arg("SETSLOT").arg(slot).arg(args);
            query::<String>(port, &mut cmd)
                .unwrap_or_else(|| panic!("CLUSTER SETSLOT {slot} {args:?} on {port}"));
        };
        setslot(target.port, &["IMPORTING", &from.id]);
        setslot(from.port, &["MIGRATING", &target.id]);
        loop {
            let keys: Vec<String> =
                query(from.port, redis::cmd("CLUSTER").arg("GETKEYSINSLOT").arg(slot).arg(100))
                    .expect("keys");
            if keys.is_empty() {
                break;
            }
            let mut migrate = redis::cmd("MIGRATE");
            migrate.arg("127.0.0.1").arg(target.port).arg("").arg(0).arg(5000).arg("KEYS").arg(&keys);
            query::<String>(from.port, &mut migrate).expect("MIGRATE");
        }
        setslot(target.port, &["NODE", &target.id]);
        setslot(from.port, &["NODE", &target.id]);
        for master in self.masters() {
            if master.port != from.port && master.port != target.port {
                setslot(master.port, &["NODE", &target.id]);
            }
        }
    }

    /// A blocking connection to the node on `port`.
    pub fn connection(&self, port: u16) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{port}"))
            .expect("url")
            .get_connection()
            .expect("connects")
    }
}

/// Runs `cmd` on the node at `port`; `None` if it is unreachable or refuses.
fn query<T: redis::FromRedisValue>(port: u16, cmd: &mut redis::Cmd) -> Option<T> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).ok()?;
    let mut connection = client.get_connection_with_timeout(Duration::from_secs(2)).ok()?;
    cmd.query(&mut connection).ok()
}

fn wait_until(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
