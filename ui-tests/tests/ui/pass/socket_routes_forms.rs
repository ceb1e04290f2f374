//! The no-macro forms: async fns and closures, with and without `data`,
//! replying `()`, `Data(value)` or a `Result`.
use ori::{Data, SocketContext, SocketError, SocketRoutes};

#[derive(serde::Deserialize)]
struct Add {
    a: i64,
    b: i64,
}

async fn add(_ctx: SocketContext, data: Add) -> Result<i64, SocketError> {
    Ok(data.a + data.b)
}

fn main() {
    let routes = SocketRoutes::named("Forms")
        .route("forms.add", add)
        .route("forms.whoami", |ctx: SocketContext| async move { Data(ctx.id().to_string()) })
        .route("forms.double", |_ctx: SocketContext, n: i64| async move { Data(n * 2) })
        .route("forms.nothing", |_ctx: SocketContext| async {})
        .route_with("forms.shared", std::sync::Arc::new(7_i64), |seven: std::sync::Arc<i64>, _ctx: SocketContext| async move {
            Data(*seven)
        })
        .route_with("forms.shared_data", String::from("x"), |prefix: String, _ctx: SocketContext, n: i64| async move {
            Data(format!("{prefix}{n}"))
        })
        .route("forms.checked", |_ctx: SocketContext, n: i64| async move {
            if n < 0 {
                return Err(SocketError::bad_request("n must not be negative"));
            }
            Ok(n)
        });
    let _ = routes;
}
