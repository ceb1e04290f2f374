//! The soak (issue 27; the load is described in `ori_tests::soak`): a
//! server process holds connections under churn, pub/sub on 100 topics and
//! rpc on a tenth of them; its memory, file descriptors, tasks and
//! connections stay within 5% after the warm-up, and every message
//! published to a connected subscriber is received, once, in order.
//!
//! CI runs the short soak (2,000 connections, 60 s). The full one (10,000
//! connections, 10 minutes) needs more file descriptors than the usual
//! default; raise the limit in the same shell:
//!
//! ```sh
//! ulimit -n 20000 && cargo test --release -p ori-tests --test soak -- --ignored --nocapture
//! ```
//! (`SOAK_CONNECTIONS`, `SOAK_SECONDS`, `SOAK_CHURN`, `SOAK_WARM_UP_SECONDS`
//! change it.)

use ori_tests::soak::{self, Plan};

const SERVER: &str = env!("CARGO_BIN_EXE_bench_peer");

async fn soak(plan: Plan) {
    let report = soak::run(SERVER, plan.clone(), true).await;
    eprintln!("{plan:?}\n{}", report.table());
    let broken = report.verdict(&plan);
    assert!(broken.is_empty(), "the soak did not hold: {broken:#?}\n{}", report.table());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_connections_for_a_minute_hold_flat_and_lose_nothing() {
    soak(Plan::short()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "10 minutes, 10,000 connections: run it on purpose (see the file's doc)"]
async fn ten_thousand_connections_for_ten_minutes_hold_flat_and_lose_nothing() {
    soak(Plan::full_from_env()).await;
}
