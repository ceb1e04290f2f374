//! What is open on this instance, for an operator's HTTP route or a
//! handler: [`Sockets::connections`] and [`Sockets::topics`]. (Across
//! instances, with a backend that can ask the others, later.)

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::Serialize;

use crate::connection::socket_id::SocketId;
use crate::handles::sockets::Sockets;
use crate::protocol::names::BROADCAST_TOPIC;
use crate::util::sync::lock;

/// One open connection of this instance.
///
/// Serializes to JSON for an HTTP route:
/// `{"id":"…","remoteAddr":"127.0.0.1:50912","connectedAtMs":1765000000000,
/// "subscriptions":["room:1"],"subprotocol":null,"codec":"json","endpoint":"/ws"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ConnectionInfo {
    /// Its socket id.
    #[serde(serialize_with = "as_string")]
    pub id: SocketId,
    /// The peer's address, when the transport knows it (a test harness does not).
    pub remote_addr: Option<SocketAddr>,
    /// When it was opened, in milliseconds since the Unix epoch.
    pub connected_at_ms: u64,
    /// The topics it joined (server topics excluded), sorted.
    pub subscriptions: Vec<String>,
    /// The subprotocol it negotiated, if any.
    pub subprotocol: Option<String>,
    /// Its envelopes' codec: `json` or `msgpack`.
    pub codec: &'static str,
    /// The path of its endpoint.
    pub endpoint: String,
}

/// A topic with subscribers on this instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TopicInfo {
    /// The topic.
    pub topic: String,
    /// Connections of this instance subscribed to it.
    pub subscribers: usize,
}

fn as_string<S: serde::Serializer>(id: &SocketId, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(id)
}

impl Sockets {
    /// The open connections of this instance, oldest first.
    ///
    /// ```no_run
    /// use axum::{Json, extract::State, routing::get};
    /// # fn demo() -> axum::Router<ori::AppContext> {
    /// axum::Router::new().route(
    ///     "/admin/connections",
    ///     get(|State(ctx): State<ori::AppContext>| async move { Json(ctx.sockets().connections()) }),
    /// )
    /// # }
    /// ```
    pub fn connections(&self) -> Vec<ConnectionInfo> {
        let mut connections = Vec::new();
        self.shared().connections.for_each(|core| {
            let opened = core.origin.connected_at_ms;
            let mut subscriptions: Vec<String> =
                lock(&core.subscriptions).topics().map(str::to_owned).collect();
            subscriptions.sort();
            let origin = &core.origin;
            connections.push((
                opened,
                ConnectionInfo {
                    id: core.id,
                    remote_addr: origin.remote_addr,
                    connected_at_ms: origin.connected_at_ms,
                    subscriptions,
                    subprotocol: core.subprotocol().map(str::to_owned),
                    codec: core.codec().name(),
                    endpoint: origin.endpoint_path.to_string(),
                },
            ));
        });
        connections.sort_by_key(|(opened, info)| (*opened, info.id));
        connections.into_iter().map(|(_, info)| info).collect()
    }

    /// The topics with subscribers on this instance (server topics such as
    /// `__broadcast__` excluded), sorted, with their subscriber counts.
    pub fn topics(&self) -> Vec<TopicInfo> {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        self.shared().connections.for_each(|core| {
            for topic in lock(&core.subscriptions).topics() {
                if topic != BROADCAST_TOPIC {
                    *counts.entry(topic.to_string()).or_default() += 1;
                }
            }
        });
        counts.into_iter().map(|(topic, subscribers)| TopicInfo { topic, subscribers }).collect()
    }
}
