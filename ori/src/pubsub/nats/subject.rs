//! Topic names as NATS subjects. A topic (`[A-Za-z0-9_.:-]`, PROTOCOL.md)
//! is one subject token under `<prefix>.t.`: its dots, which would split it
//! into tokens (and make `a..b` an invalid subject), become `%`, which no
//! topic contains, so the mapping is one to one and has no wildcards.

/// The subject of `topic`: `<prefix>.t.<topic with . as %>`.
pub(crate) fn of_topic(prefix: &str, topic: &str) -> String {
    let mut subject = String::with_capacity(prefix.len() + 3 + topic.len());
    subject.push_str(prefix);
    subject.push_str(".t.");
    subject.extend(topic.chars().map(|c| if c == '.' { '%' } else { c }));
    subject
}

/// The subject every instance listens on for direct sends: `<prefix>.direct`.
pub(crate) fn direct(prefix: &str) -> String {
    format!("{prefix}.direct")
}

/// The subject only `instance` listens on, to confirm its subscriptions:
/// `<prefix>.probe.<instance in hex>`.
pub(crate) fn probe(prefix: &str, instance: &[u8; 16]) -> String {
    format!("{prefix}.probe.{}", crate::util::random::hex(instance))
}

/// Whether `prefix` can start a subject: tokens of printable characters
/// without `*` or `>`, none empty.
pub(crate) fn valid_prefix(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix.split('.').all(|token| {
            !token.is_empty() && token.chars().all(|c| c.is_ascii_graphic() && c != '*' && c != '>')
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
        assert_eq!(direct("ori"), "ori.direct");
    }

    #[test]
    fn prefixes_are_checked() {
        assert!(valid_prefix("ori"));
        assert!(valid_prefix("my-app.ori"));
        for bad in ["", "a..b", ".a", "a.", "a b", "a.*", "a.>"] {
            assert!(!valid_prefix(bad), "{bad}");
        }
    }
}
