use ori::{SocketContext, SocketRoutes};

fn main() {
    let _ = SocketRoutes::new().route("report.file", |_ctx: SocketContext, _a: u32, _b: u32| async {});
}
