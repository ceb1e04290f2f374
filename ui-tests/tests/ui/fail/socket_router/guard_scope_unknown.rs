use ori::prelude::*;

#[connection_guard]
struct AdminGuard;

impl ConnectionGuard for AdminGuard {
    type State = ();
    async fn check(&self, _request: &UpgradeRequest) -> Result<(), Reject> {
        Ok(())
    }
}

#[injectable]
struct Router;

#[socket_router(guard = AdminGuard, guard_scope = "routes")]
impl Router {
    #[on("admin.echo")]
    async fn echo(&self) {}
}

fn main() {}
