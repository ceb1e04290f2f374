//! Redis Cluster's key space: the slot of a key or channel (CRC16 of its
//! hash tag, modulo 16,384), and the map of which master serves each slot,
//! read from `CLUSTER SLOTS`.

use redis::Value;

/// Slots in a Redis Cluster.
pub(crate) const SLOTS: usize = 16_384;

/// The slot of `key`: of its hash tag (the text between the first `{` and
/// the next `}`, when not empty), else of the whole key.
pub(crate) fn slot(key: &[u8]) -> u16 {
    let tagged = key
        .iter()
        .position(|&b| b == b'{')
        .and_then(|open| {
            let rest = &key[open + 1..];
            rest.iter().position(|&b| b == b'}').map(|close| &rest[..close])
        })
        .filter(|tag| !tag.is_empty());
    crc16(tagged.unwrap_or(key)) % SLOTS as u16
}

/// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, as Redis
/// Cluster hashes; a byte at a time, from a table made at compile time
/// (every publish to a cluster hashes its channel).
fn crc16(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0, |crc, &byte| (crc << 8) ^ CRC16_TABLE[usize::from((crc >> 8) as u8 ^ byte)])
}

/// The CRC16 of each byte value.
const CRC16_TABLE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut crc = (byte as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
            bit += 1;
        }
        table[byte] = crc;
        byte += 1;
    }
    table
};

/// A master's address, as the cluster announces it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct NodeAddr {
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl std::fmt::Display for NodeAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// Which master serves each slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SlotMap {
    /// The masters, sorted.
    pub(crate) masters: Vec<NodeAddr>,
    /// Per slot, the index of its master in `masters` (`None`: no master serves it).
    owners: Vec<Option<u16>>,
}

impl SlotMap {
    /// The master of `slot`, if one serves it.
    pub(crate) fn owner(&self, slot: u16) -> Option<&NodeAddr> {
        self.owners[usize::from(slot)].map(|index| &self.masters[usize::from(index)])
    }

    /// Whether every slot has a master.
    pub(crate) fn is_complete(&self) -> bool {
        self.owners.iter().all(Option::is_some)
    }

    /// How many slots each master serves, in `masters`' order.
    #[cfg(test)]
    fn slots_per_master(&self) -> Vec<usize> {
        let mut counts = vec![0; self.masters.len()];
        for index in self.owners.iter().flatten() {
            counts[usize::from(*index)] += 1;
        }
        counts
    }

    /// Reads a `CLUSTER SLOTS` reply (`[[start, end, [host, port, id, ..], replicas..], ..]`)
    /// from the node at `asked`: an empty host means that node.
    pub(crate) fn parse(reply: &Value, asked: &NodeAddr) -> Result<SlotMap, String> {
        let Value::Array(ranges) = reply else { return Err(format!("CLUSTER SLOTS answered {reply:?}")) };
        let mut spans = Vec::new();
        for range in ranges {
            let Value::Array(fields) = range else { return Err(format!("a slot range is {range:?}")) };
            let (Some(start), Some(end), Some(master)) = (
                fields.first().and_then(integer),
                fields.get(1).and_then(integer),
                fields.get(2).and_then(|master| node(master, asked)),
            ) else {
                return Err(format!("a slot range is {range:?}"));
            };
            if start > end || end >= SLOTS as i64 || start < 0 {
                return Err(format!("the slot range {start}-{end} is not in 0-16383"));
            }
            spans.push((start as usize, end as usize, master));
        }
        let mut masters: Vec<NodeAddr> = spans.iter().map(|(_, _, master)| master.clone()).collect();
        masters.sort();
        masters.dedup();
        let mut owners = vec![None; SLOTS];
        for (start, end, master) in spans {
            let index = masters.binary_search(&master).expect("listed") as u16;
            owners[start..=end].fill(Some(index));
        }
        Ok(SlotMap { masters, owners })
    }
}

fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Int(n) => Some(*n),
        _ => None,
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(text) | Value::VerbatimString { text, .. } => Some(text.clone()),
        _ => None,
    }
}

fn node(value: &Value, asked: &NodeAddr) -> Option<NodeAddr> {
    let Value::Array(fields) = value else { return None };
    let host = text(fields.first()?)?;
    let port = u16::try_from(integer(fields.get(1)?)?).ok()?;
    // An empty host (or `?`) is the node that answered, which does not know its own address.
    let host = if host.is_empty() || host == "?" { asked.host.clone() } else { host };
    Some(NodeAddr { host, port })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_redis_cluster_keyslot() {
        // Values from `CLUSTER KEYSLOT` and the Redis Cluster specification.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(slot(b"foo"), 12182);
        assert_eq!(slot(b"bar"), 5061);
        assert_eq!(slot(b"{user1000}.following"), slot(b"user1000"));
        assert_eq!(slot(b"foo{}{bar}"), slot(b"foo{}{bar}"), "an empty tag hashes the whole key");
        assert_ne!(slot(b"foo{}{bar}"), slot(b"bar"));
        assert_eq!(slot(b"foo{{bar}}zap"), slot(b"{bar"));
        assert_eq!(
            slot(b"ori:{room.1}"),
            slot(b"ori:{room.1}:stream"),
            "a channel and its stream share a slot"
        );
    }

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn a_cluster_slots_reply_maps_every_slot() {
        let range = |start, end, port| {
            Value::Array(vec![
                Value::Int(start),
                Value::Int(end),
                Value::Array(vec![bulk("127.0.0.1"), Value::Int(port), bulk("id")]),
                Value::Array(vec![bulk("127.0.0.1"), Value::Int(port + 100), bulk("replica")]),
            ])
        };
        let asked = NodeAddr { host: "127.0.0.1".into(), port: 7000 };
        let reply =
            Value::Array(vec![range(0, 5460, 7000), range(5461, 10922, 7001), range(10923, 16383, 7002)]);
        let map = SlotMap::parse(&reply, &asked).unwrap();
        assert!(map.is_complete());
        assert_eq!(map.slots_per_master(), [5461, 5462, 5461]);
        assert_eq!(map.owner(12182).unwrap().port, 7002);
        let partial = SlotMap::parse(&Value::Array(vec![range(0, 100, 7000)]), &asked).unwrap();
        assert!(!partial.is_complete());
        assert_eq!(partial.owner(101), None);
        assert!(SlotMap::parse(&Value::Array(vec![range(5, 16384, 7000)]), &asked).is_err());
        assert!(SlotMap::parse(&Value::Nil, &asked).is_err());
    }

    #[test]
    fn a_node_without_its_own_address_is_the_one_asked() {
        let asked = NodeAddr { host: "10.0.0.5".into(), port: 7000 };
        let reply = Value::Array(vec![Value::Array(vec![
            Value::Int(0),
            Value::Int(16383),
            Value::Array(vec![bulk(""), Value::Int(7000)]),
        ])]);
        assert_eq!(SlotMap::parse(&reply, &asked).unwrap().masters, [asked]);
    }
}
