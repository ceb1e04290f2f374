//! Re-authentication (PROTOCOL.md, "Re-authentication"): the connection
//! guards run again during a connection's life, on the client's new
//! credentials (a `__reauthenticate` message) or when the guards' verdict
//! expires ([`ConnectionGuard::expires_at`](crate::ConnectionGuard::expires_at)).
//! Both go through [`run_again`]: the guards run on the upgrade request the
//! connection kept, with the credentials replaced; the connection takes
//! their new states, router-scoped refusals and expiry, or a connection
//! guard's refusal closes it with 1008.
//!
//! The driver runs a `__reauthenticate` as a barrier: nothing the client
//! sent after it is dispatched before the guards decided.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::connection::state::StateMap;
use crate::endpoint::Endpoint;
use crate::endpoint::dispatch::{Dispatched, error_frame};
use crate::handles::socket::Socket;
use crate::hooks::upgrade::UpgradeRequest;
use crate::protocol::Outbound;
use crate::protocol::encode;
use crate::protocol::envelope::CorrelationId;
use crate::protocol::socket_error::SocketError;

/// The message type of a re-authentication, both ways (reserved: it begins with `__`).
pub(crate) const REAUTHENTICATE: &str = "__reauthenticate";

/// The `data` of a `__reauthenticate`: what replaces the upgrade request's
/// query parameters and headers of the same names.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    #[serde(default)]
    query: BTreeMap<String, String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

/// A `__reauthenticate` the driver runs before the connection's next message.
#[derive(Debug)]
pub(crate) struct Reauthentication {
    request: UpgradeRequest,
    correlation_id: Option<CorrelationId>,
}

/// The upgrade request a connection's guards decided on last, kept (as a
/// connection state no handler can name) where re-authentication is on or
/// a guard's verdict expires.
#[derive(Debug, Clone)]
struct KeptRequest(UpgradeRequest);

/// The task that acts when the guards' verdict expires, stopped when the
/// connection leaves.
#[derive(Debug)]
pub(crate) struct ExpiryWatch(tokio::task::AbortHandle);

/// A `__reauthenticate` from the client: the re-authentication to run, or
/// the error to answer (`unsupported` where it is off, `bad_request` for
/// credentials that are not `{"query": {..}, "headers": {..}}` of strings).
pub(crate) fn dispatch(
    endpoint: &Endpoint,
    socket: &Socket,
    data: &RawValue,
    correlation_id: Option<CorrelationId>,
) -> Dispatched {
    let refuse = |error: SocketError| error_frame(REAUTHENTICATE, &error, correlation_id.as_ref());
    if endpoint.config.reauthentication.is_none() {
        return refuse(SocketError::unsupported(
            "re-authentication is off on this endpoint (WebSocketConfig::reauthentication)",
        ));
    }
    let credentials = match data.get() {
        "null" => Credentials::default(),
        json => match serde_json::from_str::<Credentials>(json) {
            Ok(credentials) => credentials,
            Err(error) => {
                return refuse(SocketError::bad_request(format!(
                    "re-authentication data must be {{\"query\": {{..}}, \"headers\": {{..}}}} of strings: {error}"
                )));
            }
        },
    };
    let Some(KeptRequest(kept)) = socket.try_state::<KeptRequest>().as_deref().cloned() else {
        // Connections opened without a request (in-process tests) have nothing to re-check.
        return refuse(SocketError::unsupported("this connection has no upgrade request to re-authenticate"));
    };
    let query = credentials.query.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let headers = credentials.headers.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    match kept.with_credentials(query, headers) {
        Ok(request) => Dispatched::Reauthenticate(Box::new(Reauthentication { request, correlation_id })),
        Err(reason) => refuse(SocketError::bad_request(reason)),
    }
}

impl Reauthentication {
    /// Runs the guards on the new credentials: the acknowledgement to send,
    /// or the close reason.
    pub(crate) fn run(
        self,
        endpoint: Arc<Endpoint>,
        socket: Socket,
    ) -> BoxFuture<'static, Result<Bytes, String>> {
        async move {
            run_again(&endpoint, &socket, self.request).await?;
            Ok(encode::reply(REAUTHENTICATE, None, self.correlation_id.as_ref()))
        }
        .boxed()
    }
}

/// Runs the guards on `request` and gives the connection their verdict;
/// `Err` is a connection guard's refusal (or credentials already expired).
async fn run_again(endpoint: &Endpoint, socket: &Socket, request: UpgradeRequest) -> Result<(), String> {
    let mut next = StateMap::default();
    endpoint.hooks.run_guards(&request, endpoint.config.guard_timeout, &mut next).await?;
    if next.expires_at.is_some_and(|at| at <= SystemTime::now()) {
        return Err("credentials expired".to_owned());
    }
    let kept = KeptRequest(request);
    socket.core().states.write(|states| {
        states.absorb(next, endpoint.hooks.guard_states());
        states.insert(Box::new(kept));
    });
    Ok(())
}

/// After the guards admitted a new connection: keeps its upgrade request
/// where it may be needed again, and watches the guards' expiry.
pub(crate) fn after_connect(endpoint: &Arc<Endpoint>, socket: &Socket, request: &UpgradeRequest) {
    let expires_at = socket.core().states.read(|states| states.expires_at);
    if endpoint.config.reauthentication.is_none() && expires_at.is_none() {
        return;
    }
    socket.set_state(KeptRequest(request.clone()));
    if expires_at.is_some() {
        let watch = tokio::spawn(watch_expiry(endpoint.clone(), socket.clone()));
        socket.set_state(ExpiryWatch(watch.abort_handle()));
    }
}

/// Stops watching a connection that left.
pub(crate) fn forget(socket: &Socket) {
    if let Some(watch) = socket.try_state::<ExpiryWatch>() {
        watch.0.abort();
    }
}

/// Waits for the guards' verdict to expire, then runs them again on the
/// credentials the connection has; if they refuse, asks the client for new
/// ones (`{"type":"__reauthenticate","data":{"reason":..}}`) and closes with
/// 1008 unless it re-authenticated within the grace (at once where
/// re-authentication is off).
async fn watch_expiry(endpoint: Arc<Endpoint>, socket: Socket) {
    let states = &socket.core().states;
    while let Some(at) = states.read(|s| s.expires_at) {
        let wait = at.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
        tokio::time::sleep(wait).await;
        if states.read(|s| s.expires_at).is_some_and(|at| at > SystemTime::now()) {
            continue; // Re-authenticated meanwhile: a later expiry.
        }
        let Some(KeptRequest(request)) = socket.try_state::<KeptRequest>().as_deref().cloned() else {
            return;
        };
        let generation = states.read(|s| s.generation);
        let Err(reason) = run_again(&endpoint, &socket, request).await else { continue };
        tracing::debug!(reason, "connection credentials expired");
        let Some(grace) = endpoint.config.reauthentication else {
            socket.close(1008, &format!("credentials expired: {reason}"));
            return;
        };
        if let Ok(ask) = Outbound::json(REAUTHENTICATE, &serde_json::json!({ "reason": reason })) {
            let _ = socket.send(ask);
        }
        tokio::time::sleep(grace).await;
        if states.read(|s| s.generation) == generation {
            socket.close(1008, &format!("credentials expired: {reason}"));
            return;
        }
    }
}
