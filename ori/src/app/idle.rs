//! The idle sweeper: pings the connections that have been silent for half
//! the idle timeout, and closes those silent for the whole of it.

use std::sync::Arc;
use std::time::Duration;

use crate::connection::outbox::CloseRequest;
use crate::connection::registry::ConnectionRegistry;

/// Pings the silent connections of endpoint `endpoint` and closes those
/// silent for the idle timeout.
pub(crate) fn spawn_sweeper(connections: &Arc<ConnectionRegistry>, endpoint: u8, idle_timeout: Duration) {
    let connections = Arc::downgrade(connections);
    let period = idle_timeout / 2;
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let Some(connections) = connections.upgrade() else { return };
            connections.for_each(|core| {
                if core.endpoint != endpoint {
                    return;
                }
                match core.sweep() {
                    0 => {}
                    1 => core.outbox.request_ping(),
                    _ => core.outbox.request_close(CloseRequest::Idle),
                }
            });
        }
    });
}
