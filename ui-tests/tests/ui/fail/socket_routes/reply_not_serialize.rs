use ori::{SocketContext, SocketError, SocketRoutes};

struct Receipt;

fn main() {
    let _ = SocketRoutes::new()
        .route("report.file", |_ctx: SocketContext| async move { Ok::<_, SocketError>(Receipt) });
}
