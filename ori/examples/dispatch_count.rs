//! Dispatches one message N times through the generated, the hand-written
//! or the layered route of `benches/dispatch.rs`, for counting instructions,
//! which (unlike wall time) repeat exactly on a noisy machine:
//!
//! ```sh
//! cargo build --release -p ori-ws --example dispatch_count
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/dispatch_count hand_written 10000
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/dispatch_count generated 10000
//! ```
//! Compare the two `I refs` totals (set-up is the same for both). `layered`
//! is `generated` behind one pass-through `Ori::layer`.

use std::hint::black_box;

use futures_util::FutureExt;

#[allow(dead_code, unreachable_pub)]
#[path = "../benches/support/dispatch_apps.rs"]
mod apps;

fn main() {
    let mut args = std::env::args().skip(1);
    let harness = match args.next().as_deref() {
        Some("generated") => apps::generated(),
        Some("hand_written") => apps::hand_written(),
        Some("layered") => apps::layered(),
        _ => return eprintln!("usage: dispatch_count generated|hand_written|layered [count]"),
    };
    let count: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let connection = harness.connection().state(apps::Auth { user: 7 }).open();
    for _ in 0..count {
        black_box(connection.send_text(black_box(apps::MESSAGE)).now_or_never().flatten().expect("reply"));
    }
}
