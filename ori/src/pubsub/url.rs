//! [`from_url`]: one URL picks the pub/sub backend, so that a deployment
//! chooses it by configuration (`ORI_PUBSUB_URL=nats://...`).

use std::sync::Arc;

use crate::error::Error;
use crate::pubsub::{InProcess, PubSubBackend};

/// The backend a URL names, with its defaults:
///
/// | URL | backend |
/// | --- | --- |
/// | `memory://` | [`InProcess`]: this instance only |
/// | `redis://host:port[/db]` | `RedisBackend` (feature `redis`) |
/// | `redis+cluster://host:port,host:port` | `RedisBackend` on a Redis Cluster, sharded pub/sub (feature `redis`) |
/// | `nats://host:port[,nats://...]`, `tls://...` | `NatsBackend` (feature `nats`) |
///
/// A URL of a backend this build lacks, or of none, is
/// [`Error::InvalidConfig`], saying which feature to enable or which
/// schemes there are. For settings beyond the defaults, build the backend
/// yourself (`RedisBackend::builder(url)...`).
///
/// ```
/// let app = ori::Ori::create()
///     .websocket(ori::WebSocketConfig::default())
///     .pubsub(ori::pubsub::from_url("memory://")?);
/// # Ok::<(), ori::Error>(())
/// ```
pub fn from_url(url: &str) -> Result<Box<dyn PubSubBackend>, Error> {
    let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
    match scheme {
        "memory" => Ok(Box::new(InProcess::new())),
        "redis" | "redis+cluster" => redis(url),
        "rediss" => Err(Error::InvalidConfig(
            "`rediss://`: TLS to Redis is not supported yet; use `redis://` (on a private network, or through a TLS tunnel)"
                .to_owned(),
        )),
        "nats" | "tls" => nats(url),
        _ => Err(Error::InvalidConfig(format!(
            "no pub/sub backend for `{}`: use `memory://`, `redis://host:port`, `redis+cluster://host:port,host:port` or `nats://host:port`",
            shown(url)
        ))),
    }
}

#[cfg(feature = "redis")]
fn redis(url: &str) -> Result<Box<dyn PubSubBackend>, Error> {
    Ok(Box::new(crate::pubsub::RedisBackend::new(url)))
}

#[cfg(not(feature = "redis"))]
fn redis(url: &str) -> Result<Box<dyn PubSubBackend>, Error> {
    Err(Error::InvalidConfig(format!(
        "`{}` needs the Redis backend: enable the feature `redis` of ori-ws",
        shown(url)
    )))
}

#[cfg(feature = "nats")]
fn nats(url: &str) -> Result<Box<dyn PubSubBackend>, Error> {
    Ok(Box::new(crate::pubsub::NatsBackend::new(url)))
}

#[cfg(not(feature = "nats"))]
fn nats(url: &str) -> Result<Box<dyn PubSubBackend>, Error> {
    Err(Error::InvalidConfig(format!(
        "`{}` needs the NATS backend: enable the feature `nats` of ori-ws",
        shown(url)
    )))
}

/// `url` without the secrets of its user info, for errors.
fn shown(url: &str) -> String {
    crate::util::redact::redacted(url, crate::util::redact::UserInfo::Hide)
}

/// What [`Ori::pubsub`](crate::Ori::pubsub) takes: any [`PubSubBackend`],
/// or the boxed one [`from_url`] returns.
pub trait IntoBackend {
    /// The backend, shared.
    fn into_backend(self) -> Arc<dyn PubSubBackend>;
}

impl<B: PubSubBackend> IntoBackend for B {
    fn into_backend(self) -> Arc<dyn PubSubBackend> {
        Arc::new(self)
    }
}

impl IntoBackend for Box<dyn PubSubBackend> {
    fn into_backend(self) -> Arc<dyn PubSubBackend> {
        Arc::from(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(url: &str) -> Result<String, String> {
        from_url(url).map(|backend| backend.name()).map_err(|e| e.to_string())
    }

    #[test]
    fn the_scheme_picks_the_backend() {
        assert_eq!(name("memory://"), Ok("in process (this instance only)".to_owned()));
        #[cfg(feature = "redis")]
        assert_eq!(
            name("redis://127.0.0.1:6379"),
            Ok("Redis at redis://127.0.0.1:6379 (across instances)".to_owned())
        );
        #[cfg(feature = "redis")]
        assert_eq!(
            name("redis+cluster://:pw@10.0.0.1:7000,10.0.0.2:7000"),
            Ok("Redis Cluster at redis://:***@10.0.0.1:7000,redis://:***@10.0.0.2:7000 (sharded, across instances)"
                .to_owned())
        );
        #[cfg(not(feature = "redis"))]
        assert!(name("redis://127.0.0.1:6379").unwrap_err().contains("the feature `redis`"));
        #[cfg(not(feature = "redis"))]
        assert!(name("redis+cluster://a:1,b:2").unwrap_err().contains("the feature `redis`"));
        #[cfg(feature = "nats")]
        assert_eq!(
            name("nats://127.0.0.1:4222"),
            Ok("NATS at nats://127.0.0.1:4222 (across instances)".to_owned())
        );
        #[cfg(not(feature = "nats"))]
        assert!(name("nats://127.0.0.1:4222").unwrap_err().contains("the feature `nats`"));
    }

    #[test]
    fn other_urls_say_what_there_is() {
        let unknown = name("kafka://user:secret@host:9092").unwrap_err();
        assert!(unknown.contains("use `memory://`, `redis://host:port`, `redis+cluster://"), "{unknown}");
        assert!(!unknown.contains("secret"), "{unknown}");
        let listed = name("kafka://a:1,kafka://u:secret@b:2").unwrap_err();
        assert!(!listed.contains("secret"), "every seed of a list is redacted: {listed}");
        assert!(name("rediss://h:6380").unwrap_err().contains("TLS to Redis is not supported yet"));
        assert!(name("127.0.0.1:6379").is_err());
    }
}
