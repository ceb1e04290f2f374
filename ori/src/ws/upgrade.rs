//! The HTTP endpoint that upgrades requests to WebSocket connections.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use super::extensions;
use super::handshake::{self, HandshakeError};
use super::serve::{Accepted, ConnectionTask};
use crate::connection::core::Negotiated;
use crate::connection::socket_id::SocketId;
use crate::endpoint::{Endpoint, Subprotocol};
use crate::hooks::upgrade::UpgradeRequest;
use crate::protocol::Codec;
use crate::protocol::outbound::Encoding;

fn refuse(status: StatusCode, message: &'static str) -> Response {
    (status, message).into_response()
}

/// HTTP 400 naming the subprotocols the endpoint speaks.
fn refuse_subprotocols(supported: &[Subprotocol]) -> Response {
    let message = if supported.is_empty() {
        "this endpoint speaks no subprotocol; send no Sec-WebSocket-Protocol header".to_owned()
    } else {
        let names: Vec<&str> = supported.iter().map(|s| &*s.name).collect();
        format!("unsupported subprotocol; this endpoint speaks: {}", names.join(", "))
    };
    (StatusCode::BAD_REQUEST, message).into_response()
}

/// Validates the request, runs the upgrade handler, answers `101 Switching
/// Protocols`, and spawns the connection's task.
pub(crate) async fn upgrade(State(endpoint): State<Arc<Endpoint>>, mut request: Request) -> Response {
    let config = &endpoint.config;
    if let (Some(allowed), Some(origin)) = (&config.allowed_origins, request.headers().get(header::ORIGIN))
        && !allowed.iter().any(|a| a.as_bytes() == origin.as_bytes())
    {
        return refuse(StatusCode::FORBIDDEN, "origin not allowed");
    }
    let accept = match handshake::accept(request.headers()) {
        Ok(accept) => accept,
        Err(HandshakeError::NotUpgrade | HandshakeError::Version) => {
            let mut response =
                refuse(StatusCode::UPGRADE_REQUIRED, "expected a WebSocket upgrade (version 13)");
            response.headers_mut().insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
            return response;
        }
        Err(HandshakeError::Key) => {
            return refuse(StatusCode::BAD_REQUEST, "invalid Sec-WebSocket-Key");
        }
    };
    let subprotocol = match handshake::negotiate_subprotocol(request.headers(), &endpoint.subprotocols) {
        Ok(chosen) => chosen.map(|i| &endpoint.subprotocols[i]),
        Err(()) => return refuse_subprotocols(&endpoint.subprotocols),
    };
    let deflate = config.compression.as_ref().and_then(|compression| {
        let agreed = extensions::negotiate_deflate(request.headers())?;
        Some((compression.for_connection(agreed.server_window_bits), agreed.response))
    });
    let (deflate, extension_response) = deflate.unzip();
    let negotiated = (subprotocol.is_some() || deflate.is_some()).then(|| {
        Box::new(Negotiated {
            subprotocol: subprotocol.map(|s| s.name.clone()),
            encoding: Encoding { codec: subprotocol.map_or(Codec::Json, |s| s.codec), deflate },
        })
    });
    let remote_ip =
        request.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    let ip_slot = match (&endpoint.per_ip, remote_ip) {
        (Some(per_ip), Some(ip)) => match per_ip.admit(ip) {
            Some(slot) => Some(slot),
            None => return refuse(StatusCode::TOO_MANY_REQUESTS, "too many connections from this address"),
        },
        _ => None,
    };
    let admissions = &endpoint.app.shared().admissions;
    let Some(admission) = admissions.try_admit(&endpoint.live, config.max_connections, ip_slot) else {
        let message =
            if admissions.is_shutting_down() { "server shutting down" } else { "too many connections" };
        return refuse(StatusCode::SERVICE_UNAVAILABLE, message);
    };
    let on_upgrade = hyper::upgrade::on(&mut request);
    let (parts, _body) = request.into_parts();
    let upgrade_request = UpgradeRequest::new(parts, subprotocol.map(|s| s.name.clone()));

    let upgrade_data = match &endpoint.hooks.upgrade {
        None => None,
        Some(handler) => match handler.run(upgrade_request.clone(), config.upgrade_timeout).await {
            Ok(data) => Some(data),
            Err((status, message)) => return refuse(status, message),
        },
    };

    let id = SocketId::new();
    // Debug level: an enabled span lives as long as its connection.
    let span = tracing::debug_span!(
        "connection",
        socket_id = %id,
        remote_addr = tracing::field::Empty,
        close_code = tracing::field::Empty,
        close_reason = tracing::field::Empty,
    );
    if let Some(addr) = upgrade_request.remote_addr() {
        span.record("remote_addr", tracing::field::display(addr));
    }
    let accepted = Accepted { id, request: upgrade_request, upgrade_data, admission, negotiated };
    let connection_endpoint = endpoint.clone();
    let connection = ConnectionTask::new(on_upgrade, accepted, connection_endpoint);
    // An enabled span wraps every poll of the connection; a disabled one would only cost.
    if span.is_disabled() {
        tokio::spawn(connection);
    } else {
        tokio::spawn(connection.instrument(span));
    }

    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    if let Some(extensions) = extension_response {
        headers.insert(header::SEC_WEBSOCKET_EXTENSIONS, extensions);
    }
    if let Some(protocol) = subprotocol {
        headers.insert(header::SEC_WEBSOCKET_PROTOCOL, protocol.header.clone());
    }
    response
}
