//! Shared by ori's examples. Each example is `examples/<name>/main.rs` around
//! the app in `examples/<name>/app.rs`; the integration tests compile the same
//! `app.rs` and serve it, so every example is tested as it ships. (Apps live
//! beside their binary, not in this library, so that each binary registers
//! only its own routers and providers.)

/// Serves `app` on `ORI_ADDR` (default `127.0.0.1:3000`), printing the bound
/// address, until ctrl-c or SIGTERM.
pub async fn run(name: &str, app: ori::Ori) -> Result<(), ori::Error> {
    tracing_subscriber::fmt().with_target(false).init();
    let addr = std::env::var("ORI_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let server = app.bind(&addr).await?;
    let bound = server.local_addr();
    match server.websocket_url() {
        Some(url) => println!("{name} listening on http://{bound} (WebSocket: {url}); ctrl-c to stop"),
        None => println!("{name} listening on http://{bound}; ctrl-c to stop"),
    }
    server.serve().await
}

/// The WebSocket configuration from the environment: with `ORI_REDIS_URL` set
/// (`redis://host:port`), pub/sub goes through that Redis, so every instance
/// started with the same URL serves the same topics. That needs the `redis`
/// feature (`cargo run -p ori-examples --features redis --example ...`).
pub fn websocket_config_from_env() -> Result<ori::WebSocketConfig, ori::Error> {
    let config = ori::WebSocketConfig::default();
    let Ok(url) = std::env::var("ORI_REDIS_URL") else {
        return Ok(config);
    };
    #[cfg(feature = "redis")]
    {
        Ok(config.pubsub(ori::pubsub::RedisBackend::new(url)))
    }
    #[cfg(not(feature = "redis"))]
    {
        Err(ori::Error::InvalidConfig(format!(
            "ORI_REDIS_URL={url} needs the Redis provider: run with `--features redis`"
        )))
    }
}
