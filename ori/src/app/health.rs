//! `/healthz` and `/readyz` ([`Ori::health_routes`](crate::Ori::health_routes)):
//! alive, and ready for traffic (the pub/sub backend is connected and the
//! server is not draining).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use crate::handles::app_context::AppContext;

/// The routes.
pub(crate) fn routes() -> axum::Router<AppContext> {
    axum::Router::new().route("/healthz", get(alive)).route("/readyz", get(ready))
}

/// Alive: the process serves HTTP.
async fn alive() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "alive": true }))
}

/// Ready: `200 {"ready": true}`, or `503 {"ready": false, "reason": ...}`
/// while draining or while the backend is disconnected.
async fn ready(State(app): State<AppContext>) -> (StatusCode, Json<serde_json::Value>) {
    let shared = app.shared();
    let reason = if shared.admissions.is_draining() {
        Some("draining")
    } else if !shared.pubsub.is_ready() {
        Some("pub/sub backend disconnected")
    } else {
        None
    };
    match reason {
        None => (StatusCode::OK, Json(serde_json::json!({ "ready": true }))),
        Some(reason) => {
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "ready": false, "reason": reason })))
        }
    }
}
