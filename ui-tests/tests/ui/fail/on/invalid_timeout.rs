use ori::prelude::*;

#[injectable]
struct Router;

#[socket_router(timeout = "0s")]
impl Router {
    #[on("report.build", timeout = "5 seconds")]
    async fn build(&self) {}

    #[on("report.send", timeout = 5)]
    async fn send(&self) {}
}

fn main() {}
