use std::sync::Arc;

use ori::{SocketContext, SocketRoutes};

struct Ledger;

fn main() {
    // The shared value must come first: this closure takes the context first.
    let _ = SocketRoutes::new().route_with(
        "ledger.total",
        Arc::new(Ledger),
        |_ctx: SocketContext, _ledger: Arc<Ledger>, _extra: u32| async {},
    );
}
