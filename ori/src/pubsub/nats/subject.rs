//! Topic names as NATS subjects. A topic (`[A-Za-z0-9_.:-]`, PROTOCOL.md)
//! is one subject token under `<prefix>.t.`: its dots, which would split it
//! into tokens (and make `a..b` an invalid subject), become `%`, which no
//! topic contains, so the mapping is one to one and has no wildcards.

use crate::connection::socket_id::{SocketId, process_tag};

/// The subject of `topic`: `<prefix>.t.<topic with . as %>`.
pub(crate) fn of_topic(prefix: &str, topic: &str) -> String {
    let mut subject = String::with_capacity(prefix.len() + 3 + topic.len());
    subject.push_str(prefix);
    subject.push_str(".t.");
    push_token(&mut subject, topic);
    subject
}

/// Appends `topic` as one subject token: its dots as `%`.
pub(crate) fn push_token(subject: &mut String, topic: &str) {
    subject.extend(topic.chars().map(|c| if c == '.' { '%' } else { c }));
}

/// The subjects an instance uses besides its topics'.
#[derive(Debug)]
pub(crate) struct Subjects {
    prefix: String,
    /// Direct sends to the sockets of this process's instances:
    /// `<prefix>.direct.<tag>` (the tag that starts their ids).
    pub(crate) direct: String,
    /// Commands and counts, for every instance: `<prefix>.control`.
    pub(crate) control: String,
    /// Membership (`hello`, `beat`, `bye`): `<prefix>.instances`.
    pub(crate) instances: String,
    /// This instance's answers: `<prefix>.reply.<instance>`.
    pub(crate) reply: String,
    /// This instance's subscription probes: `<prefix>.probe.<instance>`.
    pub(crate) probe: String,
}

impl Subjects {
    pub(crate) fn new(prefix: &str, instance: &[u8; 16]) -> Subjects {
        let hex = crate::util::random::hex(instance);
        Subjects {
            prefix: prefix.to_owned(),
            direct: format!("{prefix}.direct.{}", crate::util::random::hex(&process_tag())),
            control: format!("{prefix}.control"),
            instances: format!("{prefix}.instances"),
            reply: format!("{prefix}.reply.{hex}"),
            probe: format!("{prefix}.probe.{hex}"),
        }
    }

    /// Where the instance holding `socket` reads direct sends to it.
    pub(crate) fn direct_of(&self, socket: SocketId) -> String {
        format!("{}.direct.{}", self.prefix, crate::util::random::hex(&socket.tag()))
    }

    /// Where `instance` reads the answers to its requests.
    pub(crate) fn reply_of(&self, instance: &[u8; 16]) -> String {
        format!("{}.reply.{}", self.prefix, crate::util::random::hex(instance))
    }

    /// The subject of `topic`.
    pub(crate) fn topic(&self, topic: &str) -> String {
        of_topic(&self.prefix, topic)
    }
}

/// Whether `prefix` can start a subject and name a stream: tokens of
/// printable characters without the wildcards `*` and `>`, without `%`
/// (topic dots are written so; async-nats cannot read a stream whose name
/// has one) or a path separator (a stream's name is a directory), none empty.
pub(crate) fn valid_prefix(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix.split('.').all(|token| {
            !token.is_empty()
                && token.chars().all(|c| c.is_ascii_graphic() && !matches!(c, '*' | '>' | '%' | '/' | '\\'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topic_is_one_token_without_wildcards() {
        assert_eq!(of_topic("ori", "room:1"), "ori.t.room:1");
        assert_eq!(of_topic("ori", "a..b.c"), "ori.t.a%%b%c");
        assert_eq!(of_topic("app.ori", "x"), "app.ori.t.x");
        assert_ne!(of_topic("ori", "a.b"), of_topic("ori", "a:b"));
        let subjects = Subjects::new("ori", &[0xab; 16]);
        let socket = SocketId::new();
        assert_eq!(subjects.direct, subjects.direct_of(socket), "this process's sockets");
        assert_eq!(subjects.direct_of(socket), format!("ori.direct.{}", &socket.to_string()[..8]));
        assert_eq!(subjects.reply, subjects.reply_of(&[0xab; 16]));
        assert_eq!(subjects.topic("a.b"), "ori.t.a%b");
    }

    #[test]
    fn prefixes_are_checked() {
        assert!(valid_prefix("ori"));
        assert!(valid_prefix("my-app.ori"));
        for bad in ["", "a..b", ".a", "a.", "a b", "a.*", "a.>", "a%b", "a/b", "a\\b"] {
            assert!(!valid_prefix(bad), "{bad}");
        }
    }
}
