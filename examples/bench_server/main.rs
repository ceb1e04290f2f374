//! The benchmark server of `../shared/bench` (PROTOCOL.md, "Benchmark
//! messages"), written the way a user would write it, with the default
//! configuration.
//!
//! ```sh
//! cargo build --release -p ori-examples --example bench_server
//! ORI_ADDR=127.0.0.1:3000 target/release/examples/bench_server
//! ```
//! Environment: `ORI_ADDR` (default `127.0.0.1:3000`), `ORI_MAX_MESSAGE_BYTES`
//! (the inbound message limit), `ORI_PUBSUB_URL` (`redis://...`: use the Redis
//! backend; build with `--features redis`), `ORI_PRESENCE_EXPIRY_MS` (with Redis: how soon a
//! dead instance's members leave), `ORI_COMPRESSION=on` (permessage-deflate, default
//! settings), `ORI_TLS_CERT` and `ORI_TLS_KEY` (PEM files: serve `wss://`;
//! build with `--features tls`), `ORI_BENCH_LAYER=pass` (one pass-through
//! `Ori::layer` in front of every route: what a layer costs), `ORI_WORKERS`
//! (worker threads; default: one per core the process may use),
//! `ORI_RATE_LIMIT_PER_SEC` and `ORI_RATE_LIMIT_BURST` (a per-connection
//! message limit), `ORI_MAX_CONNECTIONS_PER_IP` (past it, HTTP 429), `ORI_HEALTH=1`
//! (`/healthz` and `/readyz`), `ORI_METRICS=1` (Prometheus metrics at
//! `/metrics`), `ORI_LOG=off` (no `tracing` subscriber; default: INFO), `ORI_DRAIN_CLOSE_CODE=1012` (the close code of
//! the SIGTERM drain; default 1001). MessagePack
//! needs nothing: clients ask for `ori.v1.msgpack`.

// The app's items are public for the integration tests that serve it.
#[allow(unreachable_pub)]
mod app;

#[tokio::main]
async fn main() -> Result<(), ori::Error> {
    let config = ori::WebSocketConfig::default();
    let mut config = app::limits_from_env(config).map_err(ori::Error::InvalidConfig)?;
    if std::env::var("ORI_COMPRESSION").is_ok_and(|v| v == "on") {
        config = config.compression(ori::Compression::default());
    }
    if let Ok(rate) = std::env::var("ORI_RATE_LIMIT_PER_SEC") {
        let number = |name: &str, value: &str| {
            value
                .parse::<u32>()
                .map_err(|_| ori::Error::InvalidConfig(format!("{name}={value} is not a number")))
        };
        let per_sec = number("ORI_RATE_LIMIT_PER_SEC", &rate)?;
        let burst = match std::env::var("ORI_RATE_LIMIT_BURST") {
            Ok(burst) => number("ORI_RATE_LIMIT_BURST", &burst)?,
            Err(_) => per_sec,
        };
        config = config.rate_limit(ori::RateLimit::messages(per_sec, burst));
    }
    if let Ok(max) = std::env::var("ORI_MAX_CONNECTIONS_PER_IP") {
        let max = max.parse().map_err(|_| {
            ori::Error::InvalidConfig(format!("ORI_MAX_CONNECTIONS_PER_IP={max} is not a number"))
        })?;
        config = config.max_connections_per_ip(max);
    }
    let mut app = ori_examples::pubsub_from_env(app::app(config))?;
    if let Ok(workers) = std::env::var("ORI_WORKERS") {
        let workers = workers
            .parse()
            .map_err(|_| ori::Error::InvalidConfig(format!("ORI_WORKERS={workers} is not a number")))?;
        app = app.workers(workers);
    }
    if std::env::var("ORI_HEALTH").is_ok_and(|v| v == "1") {
        app = app.health_routes();
    }
    if std::env::var("ORI_METRICS").is_ok_and(|v| v == "1") {
        app = app.metrics_route("/metrics");
    }
    if let Ok(code) = std::env::var("ORI_DRAIN_CLOSE_CODE") {
        let code = code.parse().map_err(|_| {
            ori::Error::InvalidConfig(format!("ORI_DRAIN_CLOSE_CODE={code} is not a close code"))
        })?;
        app = app.drain_close_code(code);
    }
    if std::env::var("ORI_BENCH_LAYER").is_ok_and(|v| v == "pass") {
        app = app.layer(ori::layer::from_fn(|message, next| next.run(message)));
    }
    #[cfg(feature = "tls")]
    let app = match (std::env::var("ORI_TLS_CERT"), std::env::var("ORI_TLS_KEY")) {
        (Ok(cert), Ok(key)) => app.tls(ori::Tls::from_pem_files(cert, key)?),
        _ => app,
    };
    ori_examples::run("bench_server", app).await
}
