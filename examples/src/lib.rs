//! The applications behind ori's examples. Each `examples/<name>/main.rs` is a
//! thin binary around one of these; the integration tests serve the same apps.

pub mod chat;

/// Serves `app` on `ORI_ADDR` (default `127.0.0.1:3000`), printing the bound
/// address, until ctrl-c or SIGTERM.
pub async fn run(name: &str, app: ori::Ori) -> Result<(), ori::Error> {
    tracing_subscriber::fmt().with_target(false).init();
    let addr = std::env::var("ORI_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let server = app.bind(&addr).await?;
    let bound = server.local_addr();
    println!("{name} listening on http://{bound} (WebSocket: ws://{bound}/ws); ctrl-c to stop");
    server.serve().await
}
