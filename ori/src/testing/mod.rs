//! Testing apps: in process without a network ([`Harness`]), or over a real
//! socket ([`TestServer`], with typed clients under the feature `client`).
//!
//! A [`Harness`] builds an app exactly as the server does (providers, routes,
//! guards' state checks) and runs messages through the same dispatch code the
//! WebSocket connections use, in process: fast unit tests for handlers, and a
//! way to benchmark dispatch without I/O. For tests over real sockets, serve
//! the app with [`TestServer`].
//!
//! ```
//! use ori::prelude::*;
//! use ori::testing::Harness;
//! use serde_json::json;
//!
//! #[injectable]
//! struct MathRouter;
//!
//! #[socket_router]
//! impl MathRouter {
//!     #[on("math.double")]
//!     async fn double(&self, n: i64) -> i64 {
//!         n * 2
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app = Ori::create().websocket(Default::default()).only_socket_router::<MathRouter>();
//! let harness = Harness::new(app).await.unwrap();
//! let connection = harness.connection().open();
//! let reply = connection.request(json!({"type": "math.double", "data": 21, "correlationId": "1"})).await;
//! assert_eq!(reply, Some(json!({"type": "math.double", "data": 42, "correlationId": "1"})));
//! # }
//! ```

mod harness;
mod test_server;

pub use harness::{Harness, TestConnection, TestConnectionBuilder};
pub use test_server::TestServer;
