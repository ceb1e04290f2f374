// Every accepted handler form.
use std::sync::Arc;

use ori::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Data {
    value: u32,
}

#[derive(Serialize)]
struct Out {
    value: u32,
}

#[derive(Debug)]
struct AppError;

impl From<AppError> for SocketError {
    fn from(_: AppError) -> Self {
        SocketError::new("app_error", "it failed")
    }
}

#[derive(Clone)]
struct Auth;

#[connection_guard]
struct AuthGuard;

impl ConnectionGuard for AuthGuard {
    type State = Auth;
    async fn check(&self, _request: &UpgradeRequest) -> Result<Auth, Reject> {
        Ok(Auth)
    }
}

#[message_guard]
struct Always;

impl MessageGuard for Always {
    async fn check(&self, _socket: &Socket, _message_type: &str) -> Result<(), Reject> {
        Ok(())
    }
}

#[injectable]
struct Store;

#[injectable]
struct Forms {
    store: Arc<Store>,
}

#[socket_router]
impl Forms {
    #[on("forms.nothing")]
    async fn nothing(&self) {}

    #[on("forms.unit_explicit")]
    async fn unit_explicit(&self) -> () {}

    #[on("forms.ctx")]
    async fn ctx(&self, ctx: SocketContext) {
        let _ = (ctx.id(), &self.store);
    }

    #[on("forms.data")]
    async fn data(&self, data: Data) -> u32 {
        data.value
    }

    #[on("forms.ctx_data")]
    async fn ctx_data(&self, _ctx: SocketContext<()>, data: Data) -> Out {
        Out { value: data.value }
    }

    #[on("forms.result")]
    async fn result(&self, data: Data) -> Result<Out, SocketError> {
        Ok(Out { value: data.value })
    }

    #[on("forms.result_unit")]
    async fn result_unit(&self) -> Result<(), SocketError> {
        Ok(())
    }

    #[on("forms.custom_error", errors = ["app_error", "not_found"], timeout = "250ms")]
    async fn custom_error(&self) -> Result<String, AppError> {
        Err(AppError)
    }

    #[on("forms.std_result")]
    async fn std_result(&self) -> std::result::Result<Vec<u8>, SocketError> {
        Ok(vec![1])
    }

    #[on("forms.json")]
    async fn json(&self, data: serde_json::Value) -> serde_json::Value {
        data
    }

    #[on("forms.option")]
    async fn option(&self, data: Option<u8>) -> Option<u8> {
        data
    }

    #[on("forms.guarded", guard = Always)]
    async fn guarded(&self) {}

    #[on("forms.guarded_twice", guard = Always, guard = Always)]
    async fn guarded_twice(&self, _ctx: SocketContext) {}
}

#[injectable]
struct Guarded;

#[socket_router(guard = AuthGuard)]
impl Guarded {
    /// Docs are kept.
    #[on("guarded.state")]
    async fn state(&self, ctx: SocketContext<Auth>) -> Result<bool, SocketError> {
        let _: &Auth = ctx.state();
        Ok(true)
    }

    #[on("guarded.no_state")]
    async fn no_state(&self, _ctx: SocketContext) {}

    // A plain method next to the routes.
    fn helper(&self) -> u8 {
        1
    }
}

fn main() {
    let _ = Guarded.helper();
    let routes = <Forms as ori::routing::SocketRouter>::routes();
    let custom = routes.iter().find(|r| r.message_type == "forms.custom_error").unwrap();
    assert_eq!(custom.errors, ["app_error", "not_found"]);
    assert_eq!(custom.timeout, Some(std::time::Duration::from_millis(250)));
}
