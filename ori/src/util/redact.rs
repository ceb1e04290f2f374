//! URLs as logs and errors may show them: without the secrets of their user
//! info. A comma-separated list (a cluster's seeds) is redacted entry by entry.

/// What of the user info stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UserInfo {
    /// `user:secret@` -> `user:***@`; a bare `user@` stays (Redis: a user
    /// name without a password).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    KeepUser,
    /// Any user info -> `***@` (NATS: a bare `token@` is a secret).
    Hide,
}

/// `urls` with every user info's secrets replaced by `***`.
pub(crate) fn redacted(urls: &str, keep: UserInfo) -> String {
    urls.split(',').map(|url| one(url, keep)).collect::<Vec<_>>().join(",")
}

fn one(url: &str, keep: UserInfo) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let Some((user_info, host)) = rest.split_once('@') else { return url.to_owned() };
    match (keep, user_info.split_once(':')) {
        (UserInfo::KeepUser, Some((user, _))) => format!("{scheme}://{user}:***@{host}"),
        (UserInfo::KeepUser, None) => url.to_owned(),
        (UserInfo::Hide, _) => format!("{scheme}://***@{host}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show() {
        assert_eq!(redacted("nats://u:secret@h:4222", UserInfo::Hide), "nats://***@h:4222");
        assert_eq!(
            redacted("nats://t0ken@a:1,nats://u:p@b:2", UserInfo::Hide),
            "nats://***@a:1,nats://***@b:2"
        );
        assert_eq!(redacted("redis://user:s3cret@h", UserInfo::KeepUser), "redis://user:***@h");
        assert_eq!(redacted("redis://h:6379", UserInfo::KeepUser), "redis://h:6379");
        assert_eq!(redacted("no scheme@all", UserInfo::Hide), "no scheme@all");
    }
}
