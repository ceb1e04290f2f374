//! The benchmark server of `../shared/bench` (PROTOCOL.md, "Benchmark
//! messages"), written the way a user would write it, with the default
//! configuration.
//!
//! ```sh
//! cargo build --release -p ori-examples --example bench_server
//! ORI_ADDR=127.0.0.1:3000 target/release/examples/bench_server
//! ```
//! Environment: `ORI_ADDR` (default `127.0.0.1:3000`), `ORI_MAX_MESSAGE_BYTES`
//! (the inbound message limit), `ORI_REDIS_URL` (use the Redis provider; build
//! with `--features redis`).

// The app's items are public for the integration tests that serve it.
#[allow(unreachable_pub)]
mod app;

#[tokio::main]
async fn main() -> Result<(), ori::Error> {
    let config = ori_examples::websocket_config_from_env()?;
    let config = app::limits_from_env(config).map_err(ori::Error::InvalidConfig)?;
    ori_examples::run("bench_server", app::app(config)).await
}
