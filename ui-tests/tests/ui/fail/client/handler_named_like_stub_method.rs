// A handler named `connect` would collide with the stub's own `connect`.
use ori::prelude::*;

#[injectable]
struct RoomRouter;

#[socket_router(client = RoomClient)]
impl RoomRouter {
    #[on("room.connect")]
    async fn connect(&self) {}

    #[on("room.leave")]
    async fn leave(&self) {}
}

fn main() {}
