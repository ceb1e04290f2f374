//! History on Redis: each history topic is a stream and a small hash beside
//! it, written by one script together with the publish, so that offset
//! order is delivery order on every instance.
//!
//! - `<prefix>{<topic>}:meta`, a hash: `e` the epoch, `o` the last offset.
//!   It outlives the stream ([`META_TTL`]), so a quiet topic keeps its epoch.
//! - `<prefix>{<topic>}:stream`, a stream capped at the retention's size
//!   (`MAXLEN`, exact), expiring `ttl` after the last publish; entry
//!   `0-<offset>` holds `t` (Redis time, ms) and `d` (the message).
//! - The publish script assigns the offset (`HINCRBY`), appends, and
//!   publishes a [`Kind::Kept`](super::packet::Kind) packet carrying the
//!   epoch and offset; every instance, the publisher's included, delivers
//!   from that packet. A lost hash (Redis restarted empty) starts a new
//!   epoch at offset 1.
//!
//! The `{<topic>}` hash tag keeps both keys in one slot of a Redis Cluster.

use std::time::Duration;

use redis::Value;
use redis::aio::MultiplexedConnection;

use crate::error::PubSubError;
use crate::protocol::Outbound;
use crate::pubsub::history::{HistoryRead, Position, Retention};
use crate::util::random::random_token;

/// How long a topic's epoch and last offset are kept after its last
/// publish or subscribe (at least the retention's time to live).
pub(crate) const META_TTL: Duration = Duration::from_secs(24 * 3600);

/// Appends a message and publishes its packet (see the module docs).
/// KEYS: stream, meta. ARGV: a new epoch (used if there is none), size,
/// ttl (ms), meta ttl (ms), channel, packet header, message, the publish
/// command (`PUBLISH`, or `SPUBLISH` on a cluster, where the channel shares
/// the keys' slot).
pub(crate) const APPEND: &str = r"
local epoch = redis.call('HGET', KEYS[2], 'e')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', KEYS[2], 'e', epoch, 'o', 0)
  redis.call('DEL', KEYS[1])
end
local offset = string.format('%d', redis.call('HINCRBY', KEYS[2], 'o', 1))
local now = redis.call('TIME')
local ms = string.format('%d', now[1] * 1000 + math.floor(now[2] / 1000))
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[2], '0-' .. offset, 't', ms, 'd', ARGV[7])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call(ARGV[8], ARGV[5], ARGV[6] .. epoch .. '\n' .. offset .. '\n' .. ARGV[7])
return offset
";

/// Reads a topic's epoch and last offset (making an epoch if it has none)
/// and, when the epoch is the one asked for, its entries from a start id.
/// KEYS: stream, meta. ARGV: a new epoch, meta ttl (ms), the epoch asked
/// for (`""`: none), the first id. Returns `{epoch, offset, now_ms, entries}`.
const READ: &str = r"
if redis.call('HSETNX', KEYS[2], 'e', ARGV[1]) == 1 then
  redis.call('HSET', KEYS[2], 'o', 0)
end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
local epoch = redis.call('HGET', KEYS[2], 'e')
local offset = redis.call('HGET', KEYS[2], 'o')
local now = redis.call('TIME')
local ms = string.format('%d', now[1] * 1000 + math.floor(now[2] / 1000))
local entries = {}
if ARGV[3] ~= '' and ARGV[3] == epoch then
  entries = redis.call('XRANGE', KEYS[1], ARGV[4], '+')
end
return {epoch, offset, ms, entries}
";

/// The SHA-1 of [`APPEND`], for `EVALSHA`.
pub(crate) fn append_sha() -> String {
    sha1_smol::Sha1::from(APPEND).digest().to_string()
}

/// The stream and the hash of `topic`.
pub(crate) fn keys(prefix: &str, topic: &str) -> [String; 2] {
    [format!("{prefix}{{{topic}}}:stream"), format!("{prefix}{{{topic}}}:meta")]
}

/// What [`read`] found besides the history: entries that were not ori's.
pub(crate) struct Read {
    pub(crate) history: HistoryRead,
    pub(crate) junk: u64,
}

/// Reads `topic`'s history after `since` (see [`READ`]); entries older than
/// the retention's ttl count as no longer kept.
pub(crate) async fn read(
    connection: &mut MultiplexedConnection,
    prefix: &str,
    topic: &str,
    since: Option<&Position>,
    retention: Retention,
) -> Result<Read, PubSubError> {
    let [stream, meta] = keys(prefix, topic);
    let first = since.map_or(0, |s| s.offset.saturating_add(1));
    let meta_ttl = META_TTL.max(retention.ttl()).as_millis() as u64;
    let reply: Value = redis::cmd("EVAL")
        .arg(READ)
        .arg(2)
        .arg(&stream)
        .arg(&meta)
        .arg(random_token())
        .arg(meta_ttl)
        .arg(since.map_or("", |s| s.epoch.as_str()))
        .arg(format!("0-{first}"))
        .query_async(connection)
        .await
        .map_err(|e| PubSubError::Backend(format!("reading the history of `{topic}`: {e}")))?;
    parse_read(reply, topic, retention)
        .ok_or_else(|| PubSubError::Backend(format!("unexpected answer reading the history of `{topic}`")))
}

fn parse_read(reply: Value, topic: &str, retention: Retention) -> Option<Read> {
    let Value::Array(parts) = reply else { return None };
    let [epoch, offset, now, entries]: [Value; 4] = parts.try_into().ok()?;
    let epoch: String = redis::from_redis_value(epoch).ok()?;
    let offset: u64 = redis::from_redis_value(offset).ok()?;
    let now: u64 = redis::from_redis_value(now).ok()?;
    let Value::Array(entries) = entries else { return None };
    let oldest = now.saturating_sub(retention.ttl().as_millis() as u64);
    let mut messages = Vec::with_capacity(entries.len());
    let mut junk = 0;
    for entry in entries {
        match entry_message(entry, topic) {
            Some((at, message)) if at >= oldest => messages.push(message),
            Some(_) => {} // Kept longer than the ttl: no longer part of the history.
            None => junk += 1,
        }
    }
    Some(Read { history: HistoryRead { position: Position { epoch, offset }, messages }, junk })
}

/// One stream entry `[id, [field, value, ...]]` as `(time_ms, positioned message)`;
/// `None` for an entry that is not ori's.
fn entry_message(entry: Value, topic: &str) -> Option<(u64, Outbound)> {
    let Value::Array(pair) = entry else { return None };
    let [id, fields]: [Value; 2] = pair.try_into().ok()?;
    let id: String = redis::from_redis_value(id).ok()?;
    let offset: u64 = id.strip_prefix("0-")?.parse().ok()?;
    let Value::Array(fields) = fields else { return None };
    let (mut at, mut data) = (None, None);
    for pair in fields.chunks(2) {
        let [name, value] = pair else { return None };
        let name: String = redis::from_redis_value(name.clone()).ok()?;
        match name.as_str() {
            "t" => at = redis::from_redis_value::<u64>(value.clone()).ok(),
            "d" => data = redis::from_redis_value::<Vec<u8>>(value.clone()).ok(),
            _ => {}
        }
    }
    let message = Outbound::from_payload(&data?).ok()?.to_positionable().ok()?;
    Some((at?, message.with_position(topic, offset)))
}
