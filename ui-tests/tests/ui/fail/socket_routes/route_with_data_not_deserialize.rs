use std::sync::Arc;

use ori::{SocketContext, SocketRoutes};

struct Ledger;

struct Deposit {
    cents: u64,
}

fn main() {
    let _ = SocketRoutes::new().route_with(
        "ledger.deposit",
        Arc::new(Ledger),
        |_ledger: Arc<Ledger>, _ctx: SocketContext, deposit: Deposit| async move {
            let _ = deposit.cents;
        },
    );
}
