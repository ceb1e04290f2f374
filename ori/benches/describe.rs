//! Describing an app of 100 routes (100 request types, 100 reply types,
//! each with a JSON Schema), and writing its TypeScript client, JavaScript
//! client and AsyncAPI document from the description: what `cargo run
//! --example <app> -- generate` does (the goal: under 1 s for all of it).
//!
//! `cargo bench -p ori-ws --features schema --bench describe`

#![allow(missing_docs)] // criterion_group! generates an undocumented fn

use std::borrow::Cow;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ori::describe::typescript::Options;
use ori::{Ori, SocketContext, SocketError, SocketRoutes, WebSocketConfig};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

/// Route `N`'s request: a type of its own (`DataN`).
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Data<const N: usize> {
    id: String,
    count: i64,
    tags: Vec<String>,
    status: Option<String>,
}

impl<const N: usize> JsonSchema for Data<N> {
    fn schema_name() -> Cow<'static, str> {
        format!("Data{N}").into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "description": "A request of the benchmark.",
            "properties": {
                "id": { "type": "string", "description": "The item." },
                "count": { "type": "integer", "format": "int64" },
                "tags": { "type": "array", "items": { "type": "string" } },
                "status": { "type": ["string", "null"], "enum": ["online", "away", null] },
            },
            "required": ["id", "count", "tags"],
        })
    }
}

/// Route `N`'s reply (`AnswerN`).
#[derive(serde::Serialize)]
struct Answer<const N: usize> {
    accepted: bool,
}

impl<const N: usize> JsonSchema for Answer<N> {
    fn schema_name() -> Cow<'static, str> {
        format!("Answer{N}").into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "properties": { "accepted": { "type": "boolean" } },
            "required": ["accepted"],
        })
    }
}

async fn handle<const N: usize>(_: SocketContext, _: Data<N>) -> Result<Answer<N>, SocketError> {
    Ok(Answer { accepted: true })
}

macro_rules! routes {
    ($($n:literal)*) => {
        SocketRoutes::named("BenchRoutes")
            $(.route(concat!("bench.route", $n), handle::<$n>).schema::<Data<$n>, Answer<$n>>())*
    };
}

fn app() -> Ori {
    let routes = routes!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80 81 82 83 84 85 86 87 88 89 90 91 92 93 94 95 96 97 98 99);
    Ori::create().discover(false).websocket(WebSocketConfig::default()).socket_routes(routes)
}

fn describe(c: &mut Criterion) {
    let app = app();
    let description = app.describe();
    assert_eq!(description.routes.len(), 100);
    assert_eq!(description.definitions.len(), 200);
    let options = Options::new("BenchApi");
    let mut group = c.benchmark_group("describe_100_routes");
    group.bench_function("describe", |b| b.iter(|| black_box(&app).describe()));
    group.bench_function("typescript", |b| b.iter(|| black_box(&description).typescript(&options)));
    group.bench_function("javascript", |b| b.iter(|| black_box(&description).javascript(&options)));
    group.bench_function("asyncapi", |b| b.iter(|| black_box(&description).asyncapi("Bench", "1.0.0")));
    group.bench_function("all", |b| {
        b.iter(|| {
            let description = black_box(&app).describe();
            (
                description.typescript(&options),
                description.javascript(&options),
                description.asyncapi("Bench", "1.0.0"),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, describe);
criterion_main!(benches);
