use ori::prelude::*;

#[derive(Debug)]
struct DbError;

#[injectable]
struct Router;

#[socket_router]
impl Router {
    #[on("presence.heartbeat")]
    async fn heartbeat(&self) -> Result<(), DbError> {
        Err(DbError)
    }
}

fn main() {}
