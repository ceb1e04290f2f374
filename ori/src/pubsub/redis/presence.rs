//! Presence on Redis: each topic's entries in one hash, each instance's
//! liveness in one sorted set, every change made by one script that also
//! publishes its diff (so diffs reach every instance in version order).
//!
//! - `<prefix>{<topic>}:presence`, a hash: field `<instance>:<socket>:<key>`,
//!   value the meta (JSON). `<prefix>{<topic>}:pv`: the topic's version.
//! - `<prefix>#instances`, a sorted set: instance -> its last heartbeat
//!   (Redis time, ms). `<prefix>#instance:{<instance>}`: the topics it has
//!   entries on (added before each track).
//! - [`APPLY`] sets and deletes fields (a track, an untrack, or, after a
//!   reconnection, "exactly these are mine"), and publishes one
//!   `presence_diff` of what really changed: tracking what is there already
//!   sends nothing, and a leave only follows a join. O(1) commands per
//!   change; O(members) only for a resync.
//! - [`reap`] (run by every instance now and then) finds the instances
//!   whose heartbeat is older than the expiry and, topic by topic
//!   ([`REAP_TOPIC`]), removes their entries with their leaves; then it
//!   forgets them. An instance that comes back after it was reaped (a
//!   healed split, a process resumed) finds itself gone from the set and
//!   resyncs: its members join again.
//!
//! Every script touches the keys of one topic only (they share the
//! `{<topic>}` hash tag, with the topic's channel), so presence works on a
//! Redis Cluster as on one Redis.

use std::collections::HashMap;
use std::sync::Arc;

use redis::Value;
use redis::aio::MultiplexedConnection;
use serde_json::value::RawValue;

use super::{Shared, history};
use crate::connection::socket_id::SocketId;
use crate::error::PubSubError;
use crate::protocol::Outbound;
use crate::pubsub::packet::{self, Kind};
use crate::pubsub::presence::{PresenceEntry, PresenceRead};

/// Functions the scripts share: `add` records a field's meta under its key
/// in a joins or leaves table; `diff` publishes the diff of one topic.
const PRELUDE: &str = r#"
local function add(t, field, meta)
  local key = string.match(field, '^[^:]*:[^:]*:(.*)$')
  if key == nil then return end
  t[key] = t[key] or {}
  table.insert(t[key], meta)
end
local function obj(t)
  local parts = {}
  for key, metas in pairs(t) do
    table.insert(parts, cjson.encode(key) .. ':[' .. table.concat(metas, ',') .. ']')
  end
  return '{' .. table.concat(parts, ',') .. '}'
end
local function diff(publish, version_key, ttl, channel, header, topic, joins, leaves)
  local v = redis.call('INCR', version_key)
  redis.call('PEXPIRE', version_key, ttl)
  local push = '{"type":"presence_diff","data":{"topic":' .. cjson.encode(topic)
    .. ',"joins":' .. obj(joins) .. ',"leaves":' .. obj(leaves) .. '}}'
  redis.call(publish, channel, header .. string.format('%d', v) .. '\n' .. push)
  return v
end
"#;

/// Applies changes to one topic and publishes their diff.
/// KEYS: hash, version. ARGV: channel, packet header, topic, version ttl
/// (ms), `sync` (`""`, or the instance's field prefix: its fields not given
/// are deleted), the publish command, then `field, meta` pairs (meta `""`:
/// delete).
const APPLY: &str = r#"
local joins, leaves, changed = {}, {}, false
local given = {}
for i = 7, #ARGV, 2 do
  local field, meta = ARGV[i], ARGV[i + 1]
  given[field] = true
  local old = redis.call('HGET', KEYS[1], field)
  if meta == '' then
    if old then
      redis.call('HDEL', KEYS[1], field)
      add(leaves, field, old)
      changed = true
    end
  elseif old ~= meta then
    redis.call('HSET', KEYS[1], field, meta)
    add(joins, field, meta)
    if old then add(leaves, field, old) end
    changed = true
  end
end
local mine = ARGV[5]
if mine ~= '' then
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    if string.sub(all[i], 1, #mine) == mine and not given[all[i]] then
      redis.call('HDEL', KEYS[1], all[i])
      add(leaves, all[i], all[i + 1])
      changed = true
    end
  end
end
if not changed then return 0 end
return diff(ARGV[6], KEYS[2], ARGV[4], ARGV[1], ARGV[2], ARGV[3], joins, leaves)
"#;

/// Removes a silent instance's entries from one topic, with their leaves.
/// KEYS: hash, version. ARGV: the instance's field prefix, channel, packet
/// header, topic, version ttl (ms), the publish command.
const REAP_TOPIC: &str = r#"
local mine, leaves, changed = ARGV[1], {}, false
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if string.sub(all[i], 1, #mine) == mine then
    redis.call('HDEL', KEYS[1], all[i])
    add(leaves, all[i], all[i + 1])
    changed = true
  end
end
if not changed then return 0 end
return diff(ARGV[6], KEYS[2], ARGV[5], ARGV[2], ARGV[3], ARGV[4], {}, leaves)
"#;

/// Forgets a reaped instance unless it was heard from meanwhile; 1 if it
/// did (then its topic set is deleted too). KEYS: the instance set. ARGV:
/// instance, the latest heartbeat still silent (ms).
const FORGET: &str = r"
local last = redis.call('ZSCORE', KEYS[1], ARGV[1])
if last and tonumber(last) <= tonumber(ARGV[2]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
return 0
";

/// The instances silent since before `now - expiry` (at most 16), and that cutoff.
/// KEYS: the instance set. ARGV: expiry (ms).
const SILENT: &str = r"
local now = redis.call('TIME')
local cutoff = now[1] * 1000 + math.floor(now[2] / 1000) - tonumber(ARGV[1])
return {cutoff, redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff, 'LIMIT', 0, 16)}
";

/// Records a heartbeat; returns 1 when the instance was not in the set (its
/// first heartbeat, or it was reaped). KEYS: the instance set. ARGV: instance.
const HEARTBEAT: &str = r"
local now = redis.call('TIME')
return redis.call('ZADD', KEYS[1], now[1] * 1000 + math.floor(now[2] / 1000), ARGV[1])
";

/// A topic's version and entries. KEYS: hash, version.
const READ: &str = r"
return {redis.call('GET', KEYS[2]) or '0', redis.call('HGETALL', KEYS[1])}
";

/// Every quarter of the presence expiry: records this instance's heartbeat
/// (resyncing its entries if it had been reaped), and reaps the instances
/// silent for three quarters of it (two heartbeats missed): a dead
/// instance's members are gone within the expiry.
pub(crate) async fn heartbeat(shared: Arc<Shared>) {
    let expiry = shared.config.presence_expiry;
    let instances = shared.presence_keys().instances();
    let mut first = true;
    loop {
        if let Some(mut connection) = shared.connection_for(&instances) {
            let mut beat = shared.scripts.heartbeat.eval();
            beat.arg(1).arg(&instances).arg(&shared.instance_hex);
            match beat.query_async::<i64>(&mut connection).await {
                Ok(1) if !first => {
                    tracing::warn!(
                        "this instance's presence was reaped (it was unreachable too long); resyncing"
                    );
                    shared.resync_presence();
                }
                Ok(_) => first = false,
                Err(error) => tracing::debug!(%error, "presence heartbeat failed"),
            }
            match reap(&shared, &mut connection, expiry * 3 / 4).await {
                Ok(0) => {}
                Ok(reaped) => {
                    tracing::warn!(reaped, "removed the presence of instances that stopped answering")
                }
                Err(error) => tracing::debug!(%error, "presence reaping failed"),
            }
        }
        tokio::time::sleep(expiry / 4).await;
    }
}

/// Removes the entries of the instances silent for `silent` (at most 16 a
/// round), topic by topic, each with its leaves; returns how many. Every
/// step can be repeated: two instances reaping at once send each leave once.
/// `connection`: to the instance set's Redis.
async fn reap(
    shared: &Shared,
    connection: &mut MultiplexedConnection,
    silent: std::time::Duration,
) -> redis::RedisResult<usize> {
    let keys = shared.presence_keys();
    let instances = keys.instances();
    let (cutoff, dead): (i64, Vec<String>) = shared
        .scripts
        .silent
        .eval()
        .arg(1)
        .arg(&instances)
        .arg(silent.as_millis() as u64)
        .query_async(connection)
        .await?;
    let header = packet::encode(Kind::Presence, &shared.instance, None, &Outbound::text(""));
    let unreachable = || redis::RedisError::from((redis::ErrorKind::Io, "Redis is unreachable"));
    for instance in &dead {
        let index = keys.instance_topics(instance);
        let mut at_index = shared.connection_for(&index).ok_or_else(unreachable)?;
        let topics: Vec<String> = redis::cmd("SMEMBERS").arg(&index).query_async(&mut at_index).await?;
        for topic in topics {
            let channel = shared.channel(&topic);
            let mut at_topic = shared.connection_for(&channel).ok_or_else(unreachable)?;
            shared
                .scripts
                .reap_topic
                .eval()
                .arg(2)
                .arg(keys.hash(&topic))
                .arg(keys.version(&topic))
                .arg(format!("{instance}:"))
                .arg(&channel)
                .arg(&header[..])
                .arg(&topic)
                .arg(history::META_TTL.as_millis() as u64)
                .arg(shared.names.publish_command())
                .query_async::<i64>(&mut at_topic)
                .await?;
        }
        let forgotten: i64 = shared
            .scripts
            .forget
            .eval()
            .arg(1)
            .arg(&instances)
            .arg(instance)
            .arg(cutoff)
            .query_async(connection)
            .await?;
        if forgotten == 1 {
            redis::cmd("DEL").arg(&index).query_async::<()>(&mut at_index).await?;
        }
    }
    Ok(dead.len())
}

/// A script with the shared functions before it.
pub(crate) struct Script {
    pub(crate) source: String,
    pub(crate) sha: String,
}

impl Script {
    fn new(body: &str) -> Script {
        let source = format!("{PRELUDE}{body}");
        let sha = sha1_smol::Sha1::from(&source).digest().to_string();
        Script { source, sha }
    }

    /// An `EVAL` of the script (for calls that are not pipelined).
    pub(crate) fn eval(&self) -> redis::Cmd {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(&self.source);
        cmd
    }
}

/// The scripts of presence, made once per backend.
pub(crate) struct Scripts {
    pub(crate) apply: Script,
    reap_topic: Script,
    forget: Script,
    silent: Script,
    pub(crate) heartbeat: Script,
    pub(crate) read: Script,
}

impl Default for Scripts {
    fn default() -> Self {
        Scripts {
            apply: Script::new(APPLY),
            reap_topic: Script::new(REAP_TOPIC),
            forget: Script::new(FORGET),
            silent: Script::new(SILENT),
            heartbeat: Script::new(HEARTBEAT),
            read: Script::new(READ),
        }
    }
}

/// Key names.
pub(crate) struct Keys<'a> {
    pub(crate) prefix: &'a str,
}

impl Keys<'_> {
    pub(crate) fn hash(&self, topic: &str) -> String {
        format!("{}{{{topic}}}:presence", self.prefix)
    }

    pub(crate) fn version(&self, topic: &str) -> String {
        format!("{}{{{topic}}}:pv", self.prefix)
    }

    pub(crate) fn instances(&self) -> String {
        format!("{}#instances", self.prefix)
    }

    pub(crate) fn instance_topics(&self, instance: &str) -> String {
        format!("{}#instance:{{{instance}}}", self.prefix)
    }
}

/// The hash field of an entry: `<instance>:<socket>:<key>`.
pub(crate) fn field(instance: &str, socket: SocketId, key: &str) -> String {
    format!("{instance}:{socket}:{key}")
}

/// One instance's entries, by topic, then by field: what it makes true
/// again after a reconnection.
#[derive(Default)]
pub(crate) struct LocalEntries {
    pub(crate) topics: HashMap<String, HashMap<String, Box<RawValue>>>,
}

/// Reads a topic's version and entries.
pub(crate) async fn read(
    connection: &mut MultiplexedConnection,
    scripts: &Scripts,
    keys: &Keys<'_>,
    topic: &str,
) -> Result<PresenceRead, PubSubError> {
    let reply: Value = scripts
        .read
        .eval()
        .arg(2)
        .arg(keys.hash(topic))
        .arg(keys.version(topic))
        .query_async(connection)
        .await
        .map_err(|e| PubSubError::Backend(format!("reading the presence of `{topic}`: {e}")))?;
    parse_read(reply)
        .ok_or_else(|| PubSubError::Backend(format!("unexpected answer reading the presence of `{topic}`")))
}

fn parse_read(reply: Value) -> Option<PresenceRead> {
    let Value::Array(parts) = reply else { return None };
    let [version, fields]: [Value; 2] = parts.try_into().ok()?;
    let version: u64 = redis::from_redis_value(version).ok()?;
    let fields: Vec<(String, String)> = redis::from_redis_value(fields).ok()?;
    let mut entries = Vec::with_capacity(fields.len());
    for (field, meta) in fields {
        // Fields that are not ori's are skipped.
        let mut parts = field.splitn(3, ':');
        let (Some(_instance), Some(socket), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let (Ok(socket), Ok(meta)) = (socket.parse::<SocketId>(), RawValue::from_string(meta)) else {
            continue;
        };
        entries.push(PresenceEntry { key: key.to_owned(), socket, meta });
    }
    Some(PresenceRead { version, entries })
}
