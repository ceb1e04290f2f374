//! The per-message hot paths, without I/O: parsing an envelope (a `ping`,
//! answered by the runtime), encoding a server message, and publishing to N
//! local subscribers (one encoding, N queue pushes).
//!
//! `cargo bench -p ori-ws --bench hot_paths`

#![allow(missing_docs)] // criterion_group! generates an undocumented fn

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures_util::FutureExt;
use ori::Outbound;
use ori::testing::Harness;
use ori::{Ori, WebSocketConfig};
use serde_json::json;

const PING: &str = r#"{"type":"ping","correlationId":"5f2b7c1e-0000-4000-8000-000000000001"}"#;

fn envelope(c: &mut Criterion) {
    let harness = Harness::new(Ori::create().discover(false).websocket(WebSocketConfig::default()))
        .now_or_never()
        .expect("in-process providers start at once")
        .expect("builds");
    let connection = harness.connection().open();
    c.bench_function("envelope/ping_reply", |b| {
        b.iter(|| connection.send_text(black_box(PING)).now_or_never().flatten().expect("pong"))
    });
}

fn encode(c: &mut Criterion) {
    let payload = json!({"seq": 12345, "ts": 1_700_000_000_000u64, "p": "abcdefghijklmnopqrstuvwx"});
    c.bench_function("encode/message_64B", |b| {
        b.iter(|| Outbound::json(black_box("bench.message"), black_box(&payload)).expect("serializes"))
    });
}

fn publish(c: &mut Criterion) {
    let mut group = c.benchmark_group("publish");
    let message =
        Outbound::text(r#"{"type":"bench.message","data":{"seq":1,"ts":2,"p":"abcdefghijklmnopqrstuvwx"}}"#);
    for subscribers in [1usize, 100, 1000] {
        let config = WebSocketConfig::default().outbound_queue_bytes(1 << 30);
        let harness = Harness::new(Ori::create().discover(false).websocket(config))
            .now_or_never()
            .expect("in-process providers start at once")
            .expect("builds");
        let connections: Vec<_> = (0..subscribers).map(|_| harness.connection().open()).collect();
        for connection in &connections {
            connection.socket().subscribe("topic").now_or_never().expect("in-process").expect("subscribes");
        }
        let sockets = harness.app().sockets().clone();
        group.throughput(Throughput::Elements(subscribers as u64));
        group.bench_function(BenchmarkId::from_parameter(subscribers), |b| {
            b.iter_custom(|iterations| {
                // Publish in batches, draining the queues between them, outside the clock.
                let mut timed = Duration::ZERO;
                let mut left = iterations;
                while left > 0 {
                    let batch = left.min(64);
                    let started = Instant::now();
                    for _ in 0..batch {
                        sockets.publish("topic", black_box(&message)).expect("valid topic");
                    }
                    timed += started.elapsed();
                    left -= batch;
                    for connection in &connections {
                        connection.clear_received();
                    }
                }
                timed
            })
        });
    }
    group.finish();
}

criterion_group!(benches, envelope, encode, publish);
criterion_main!(benches);
