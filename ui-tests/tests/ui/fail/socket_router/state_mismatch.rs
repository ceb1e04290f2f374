use ori::prelude::*;

struct AuthState;
struct OtherState;

#[connection_guard]
struct TokenGuard;

impl ConnectionGuard for TokenGuard {
    type State = AuthState;
    async fn check(&self, _request: &UpgradeRequest) -> Result<AuthState, Reject> {
        Ok(AuthState)
    }
}

#[injectable]
struct Router;

#[socket_router(guard = TokenGuard)]
impl Router {
    #[on("presence.heartbeat")]
    async fn heartbeat(&self, ctx: SocketContext<OtherState>) {
        let _ = ctx;
    }
}

fn main() {}
