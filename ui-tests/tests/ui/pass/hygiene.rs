// The expansion names nothing from the prelude and works with a renamed crate
// (`ui-tests/renamed` is a crate where `::ori` does not resolve at all).
#![no_implicit_prelude]

extern crate ori as renamed;
extern crate serde;
extern crate std;

use renamed::{SocketContext, SocketError};
use std::sync::Arc;

#[renamed::injectable(crate = renamed)]
struct Store;

#[renamed::injectable(crate = renamed)]
struct Router {
    store: Arc<Store>,
}

#[derive(serde::Deserialize)]
struct Data {
    n: u8,
}

#[renamed::socket_router(crate = renamed)]
impl Router {
    #[on("hygiene.double")]
    async fn double(&self, _ctx: SocketContext, data: Data) -> std::result::Result<u8, SocketError> {
        let _ = &self.store;
        std::result::Result::Ok(data.n * 2)
    }
}

#[derive(serde::Serialize, renamed::SocketMessage)]
#[message(type = "hygiene.event", crate = renamed)]
struct Event;

fn main() {}
