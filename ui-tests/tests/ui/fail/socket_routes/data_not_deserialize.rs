use ori::{SocketContext, SocketRoutes};

struct Report {
    id: u32,
}

fn main() {
    let _ = SocketRoutes::new().route("report.file", |_ctx: SocketContext, report: Report| async move {
        let _ = report.id;
    });
}
