//! Monitor: an HTTP route publishes typed `monitor.statusChanged` messages to
//! the subscribers of `monitor:{id}`.
//!
//! ```sh
//! cargo run -p ori-examples --example monitor
//! # a client subscribes: {"type":"subscribe","data":{"topic":"monitor:7"}}
//! curl -X PUT -H 'content-type: application/json' -d '{"status":"down"}' http://127.0.0.1:3000/monitors/7/status
//! ```
//!
//! Several instances, on NATS or Redis (`ori_examples::pubsub_from_env`):
//!
//! ```sh
//! ORI_PUBSUB_URL=nats://127.0.0.1:4222 cargo run -p ori-examples --features nats --example monitor
//! ORI_PUBSUB_URL=nats://127.0.0.1:4222 ORI_ADDR=127.0.0.1:3001 cargo run -p ori-examples --features nats --example monitor
//! ```

// The app's items are public for the integration tests that serve it.
#[allow(unreachable_pub)]
mod app;

#[tokio::main]
async fn main() -> Result<(), ori::Error> {
    ori_examples::run("monitor", ori_examples::pubsub_from_env(app::app())?).await
}
