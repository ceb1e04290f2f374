//! An echo server on the public API, for the Autobahn|Testsuite:
//!
//! ```sh
//! cargo build --release -p ori-examples --example autobahn_echo
//! ECHO_CMD=target/release/examples/autobahn_echo STRICT=1 ../shared/conformance/autobahn.sh
//! ```
//!
//! It listens on `ORI_ADDR` (default `127.0.0.1:3000`) at path `/`, and
//! negotiates permessage-deflate unless `ORI_COMPRESSION=off`.

// The app's items are public for the integration tests that serve it.
#[allow(unreachable_pub)]
mod app;

#[tokio::main]
async fn main() -> Result<(), ori::Error> {
    let compression = std::env::var("ORI_COMPRESSION").map_or(true, |v| v != "off");
    ori_examples::run("autobahn_echo", app::app(compression)).await
}
