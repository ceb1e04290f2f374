//! Monitor: uptime checks report over HTTP; browsers watching a monitor get a
//! typed push the moment its status changes.
//!
//! - `PUT /monitors/{id}/status` `{"status": "down"}` records the status and
//!   emits `monitor.statusChanged` to `monitor:{id}` subscribers.
//! - `GET /monitors/{id}` returns the last status (HTTP).
//! - `monitor.get` `{"id": 7}` returns it over the socket, so a client can read
//!   the current state, then subscribe to `monitor:7` for changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use ori::AppContext;
use ori::prelude::*;
use serde::{Deserialize, Serialize};

/// The topic of one monitor.
pub fn topic(id: u64) -> String {
    format!("monitor:{id}")
}

/// Pushed to `monitor:{id}` when a monitor's status changes.
#[derive(Debug, Clone, Serialize, SocketMessage)]
#[message(type = "monitor.statusChanged")]
#[serde(rename_all = "camelCase")]
pub struct MonitorStatusChanged {
    /// The monitor.
    pub id: u64,
    /// `up`, `down`, or `degraded`.
    pub status: String,
    /// When it changed, in milliseconds since the Unix epoch.
    pub changed_at_ms: u64,
}

/// The last status of every monitor.
#[injectable]
pub struct MonitorRegistry {
    ctx: AppContext,
    #[inject(default)]
    statuses: Mutex<HashMap<u64, MonitorStatusChanged>>,
}

impl MonitorRegistry {
    /// Records a status; if it changed, tells the monitor's subscribers.
    pub fn report(&self, id: u64, status: &str) -> Result<MonitorStatusChanged, ori::PubSubError> {
        let changed_at_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let update = MonitorStatusChanged { id, status: status.to_owned(), changed_at_ms };
        let previous = self.statuses.lock().unwrap().insert(id, update.clone());
        if previous.is_none_or(|p| p.status != status) {
            self.ctx.sockets().emit(&topic(id), &update)?;
        }
        Ok(update)
    }

    /// The last status of a monitor.
    pub fn get(&self, id: u64) -> Option<MonitorStatusChanged> {
        self.statuses.lock().unwrap().get(&id).cloned()
    }
}

/// `PUT /monitors/{id}/status` body.
#[derive(Debug, Deserialize)]
pub struct StatusReport {
    /// `up`, `down`, or `degraded`.
    pub status: String,
}

async fn report(
    State(ctx): State<AppContext>,
    Path(id): Path<u64>,
    Json(report): Json<StatusReport>,
) -> Result<Json<MonitorStatusChanged>, (StatusCode, String)> {
    if !matches!(report.status.as_str(), "up" | "down" | "degraded") {
        return Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            "status must be `up`, `down` or `degraded`".to_owned(),
        ));
    }
    let registry = ctx.get::<MonitorRegistry>().expect("MonitorRegistry is #[injectable]");
    registry
        .report(id, &report.status)
        .map(Json)
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

async fn current(
    State(ctx): State<AppContext>,
    Path(id): Path<u64>,
) -> Result<Json<MonitorStatusChanged>, StatusCode> {
    let registry = ctx.get::<MonitorRegistry>().expect("MonitorRegistry is #[injectable]");
    registry.get(id).map(Json).ok_or(StatusCode::NOT_FOUND)
}

/// `monitor.get` data.
#[derive(Debug, Deserialize)]
pub struct MonitorId {
    /// The monitor.
    pub id: u64,
}

/// The socket side: read a monitor's current status.
#[injectable]
pub struct MonitorRouter {
    registry: Arc<MonitorRegistry>,
}

#[socket_router]
impl MonitorRouter {
    /// The last status of a monitor (`null` if it never reported).
    #[on("monitor.get")]
    async fn get(&self, data: MonitorId) -> Option<MonitorStatusChanged> {
        self.registry.get(data.id)
    }
}

/// The monitor application.
pub fn app() -> Ori {
    Ori::create().websocket(WebSocketConfig::default()).routes(
        Router::new().route("/monitors/{id}/status", put(report)).route("/monitors/{id}", get(current)),
    )
}
