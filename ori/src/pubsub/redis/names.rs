//! The Redis channels ori uses, on a single Redis and on a Redis Cluster.
//!
//! | what | single Redis | Redis Cluster (sharded pub/sub) |
//! | --- | --- | --- |
//! | topic `t` | `<prefix>t` | `<prefix>{t}` (the slot of `t`, as its history keys) |
//! | direct sends, commands, counts | `<prefix>#direct` | `<prefix>#direct:{0}` .. `{15}`, by socket |
//! | answers to instance `i` | `<prefix>#reply:<i>` | the same |
//!
//! `#` is not a topic character, so no topic collides with the others.

use crate::connection::socket_id::SocketId;

/// Direct channels of a Redis Cluster: spread over slots, so that no
/// shard carries every direct send.
pub(crate) const CLUSTER_DIRECT_CHANNELS: u8 = 16;

/// Names the channels of one prefix, for one layout.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    prefix: String,
    cluster: bool,
    /// The direct channels, made once: `<prefix>#direct` on one Redis,
    /// `<prefix>#direct:{0}` .. `{15}` on a cluster.
    directs: Vec<String>,
}

impl Names {
    pub(crate) fn new(prefix: &str, cluster: bool) -> Names {
        let directs = if cluster {
            (0..CLUSTER_DIRECT_CHANNELS).map(|bucket| format!("{prefix}#direct:{{{bucket}}}")).collect()
        } else {
            vec![format!("{prefix}#direct")]
        };
        Names { prefix: prefix.to_owned(), cluster, directs }
    }

    /// Whether channels are sharded (`SSUBSCRIBE`, `SPUBLISH`).
    pub(crate) fn is_cluster(&self) -> bool {
        self.cluster
    }

    /// The publish command: `PUBLISH`, or `SPUBLISH` on a cluster.
    pub(crate) fn publish_command(&self) -> &'static str {
        if self.cluster { "SPUBLISH" } else { "PUBLISH" }
    }

    /// The channel of `topic`.
    pub(crate) fn topic(&self, topic: &str) -> String {
        if self.cluster { format!("{}{{{topic}}}", self.prefix) } else { format!("{}{topic}", self.prefix) }
    }

    /// The topic whose channel is `channel`, if it is one.
    pub(crate) fn topic_of<'a>(&self, channel: &'a str) -> Option<&'a str> {
        let rest = channel.strip_prefix(self.prefix.as_str())?;
        if self.cluster { rest.strip_prefix('{')?.strip_suffix('}') } else { Some(rest) }
    }

    /// The direct channel that reaches the instance holding `socket`
    /// (`None`: any one, for what every instance answers).
    pub(crate) fn direct(&self, socket: Option<SocketId>) -> &str {
        let bucket = socket.map_or(0, |socket| socket.as_uuid().as_bytes()[15] % CLUSTER_DIRECT_CHANNELS);
        &self.directs[usize::from(bucket) % self.directs.len()]
    }

    /// Every direct channel (each instance listens on all of them).
    pub(crate) fn directs(&self) -> &[String] {
        &self.directs
    }

    /// Whether `channel` is a direct channel.
    pub(crate) fn is_direct(&self, channel: &str) -> bool {
        self.directs.iter().any(|direct| direct == channel)
    }

    /// Where the instance `instance` (hex) reads the answers to its requests.
    pub(crate) fn reply(&self, instance: &str) -> String {
        format!("{}#reply:{instance}", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pubsub::redis::slots::slot;

    #[test]
    fn a_single_redis_keeps_its_channel_names() {
        let names = Names::new("ori:", false);
        assert_eq!(names.topic("room.1"), "ori:room.1");
        assert_eq!(names.topic_of("ori:room.1"), Some("room.1"));
        assert_eq!(names.direct(Some(SocketId::new())), "ori:#direct");
        assert!(names.is_direct("ori:#direct"));
        assert_eq!(names.publish_command(), "PUBLISH");
    }

    #[test]
    fn a_cluster_puts_a_topic_in_the_slot_of_its_history() {
        let names = Names::new("ori:", true);
        assert_eq!(names.topic("room.1"), "ori:{room.1}");
        assert_eq!(names.topic_of("ori:{room.1}"), Some("room.1"));
        assert_eq!(names.topic_of("ori:room.1"), None);
        let [stream, meta] = crate::pubsub::redis::history::keys("ori:", "room.1");
        let channel = slot(names.topic("room.1").as_bytes());
        assert_eq!((slot(stream.as_bytes()), slot(meta.as_bytes())), (channel, channel));
        assert_eq!(slot(b"room.1"), channel, "a topic's slot is its tag's");
        assert_eq!(names.publish_command(), "SPUBLISH");
    }

    #[test]
    fn cluster_direct_channels_cover_every_socket_and_several_slots() {
        let names = Names::new("ori:", true);
        let directs = names.directs();
        assert_eq!(directs.len(), usize::from(CLUSTER_DIRECT_CHANNELS));
        for _ in 0..100 {
            let channel = names.direct(Some(SocketId::new()));
            assert!(directs.iter().any(|d| d == channel) && names.is_direct(channel), "{channel}");
        }
        assert!(!names.is_direct("ori:#direct:{16}") && !names.is_direct("ori:{room}"));
        let slots: std::collections::HashSet<u16> = directs.iter().map(|c| slot(c.as_bytes())).collect();
        assert_eq!(slots.len(), directs.len(), "each direct channel in its own slot");
    }
}
