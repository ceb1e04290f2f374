//! [`Drain`]: how a serving app ends (PROTOCOL.md, "Close codes"): readiness
//! fails first, then, after a pause for load balancers to notice, new
//! connections are refused and every connection is closed with the drain's
//! code once its running handlers reply, within the grace period.

use std::time::Duration;

use crate::app::startup::announce;
use crate::connection::outbox::CloseRequest;
use crate::handles::app_context::AppContext;

/// After the grace period, how long closing frames get before the server exits.
const CLOSE_AFTER_GRACE: Duration = Duration::from_secs(1);
/// How long the pub/sub backend gets to send what the closed connections left
/// (their presence leaves) before it is shut down.
const FLUSH_LIMIT: Duration = Duration::from_secs(2);

/// The shape of a graceful shutdown.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Drain {
    /// How long running handlers get to finish.
    pub(crate) grace: Duration,
    /// The close code of the drain: 1001 (going away) or 1012 (restarting).
    pub(crate) close_code: u16,
    /// How long `/readyz` fails before connections are closed.
    pub(crate) pause: Duration,
}

impl Drain {
    /// Drains `app`, for every way it is served: readiness fails and the
    /// server goes on serving for the pause; then `stop_listening` runs, new
    /// upgrades are refused, and each connection is closed with the drain's
    /// code once its running handlers reply. This waits for them (and for
    /// `also`, e.g. in-flight HTTP requests) up to the grace period, then
    /// drops running handlers, gives clients a short while for their close
    /// frame, and lets the backend send what the connections left.
    pub(crate) async fn run(
        self,
        app: &AppContext,
        stop_listening: impl FnOnce(),
        also: impl Future<Output = ()>,
    ) {
        announce("shutting down");
        let shared = app.shared();
        shared.admissions.begin_draining();
        if !self.pause.is_zero() {
            tokio::time::sleep(self.pause).await;
        }
        stop_listening();
        shared.admissions.begin_shutdown();
        let code = self.close_code;
        shared.connections.for_each(|core| core.outbox.request_close(CloseRequest::Shutdown { code }));
        let drained = tokio::time::timeout(self.grace, async {
            shared.admissions.all_closed().await;
            also.await;
        })
        .await;
        if drained.is_err() {
            tracing::warn!(grace = ?self.grace, code, "grace period over; dropping running handlers and closing");
            // Clients still get their close frame; a short wait, not another grace.
            shared.connections.for_each(|core| core.outbox.request_close(CloseRequest::ShutdownNow { code }));
            let _ = tokio::time::timeout(CLOSE_AFTER_GRACE, shared.admissions.all_closed()).await;
        }
        if tokio::time::timeout(FLUSH_LIMIT, shared.pubsub.flush()).await.is_err() {
            tracing::warn!(limit = ?FLUSH_LIMIT, "the pub/sub backend did not send everything before shutting down");
        }
    }
}
