//! The upgrade request seen by upgrade handlers and connection guards, and the
//! upgrade handler itself: what it may return, and how it runs.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, StatusCode, Uri, request::Parts};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use crate::connection::state::{AnyState, StateKey};
use crate::error::BoxError;
use crate::util::panic::{Unfinished, supervised};

/// The HTTP request that asked for the WebSocket upgrade. Cheap to clone.
#[derive(Clone)]
pub struct UpgradeRequest {
    parts: Arc<Parts>,
}

/// The negotiated subprotocol, kept in the request's extensions (so that the
/// request stays one pointer in every connection being opened).
#[derive(Clone)]
struct Subprotocol(Arc<str>);

/// Marks the request of a re-authentication.
#[derive(Clone, Copy)]
struct Reauthenticating;

impl UpgradeRequest {
    pub(crate) fn new(mut parts: Parts, subprotocol: Option<Arc<str>>) -> UpgradeRequest {
        if let Some(name) = subprotocol {
            parts.extensions.insert(Subprotocol(name));
        }
        UpgradeRequest { parts: Arc::new(parts) }
    }

    /// The subprotocol negotiated for this connection (the first of the
    /// client's `Sec-WebSocket-Protocol` list that the endpoint speaks), if
    /// the client asked for one.
    pub fn subprotocol(&self) -> Option<&str> {
        self.parts.extensions.get::<Subprotocol>().map(|s| &*s.0)
    }

    /// The request URI (path and query).
    pub fn uri(&self) -> &Uri {
        &self.parts.uri
    }

    /// All request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.parts.headers
    }

    /// One header as a string, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.parts.headers.get(name)?.to_str().ok()
    }

    /// The first value of query parameter `name`, percent-decoded.
    ///
    /// ```
    /// # let req = ori::UpgradeRequest::from_parts(
    /// #     axum::http::Request::get("/ws?token=a%20b&x=1").body(()).unwrap().into_parts().0);
    /// assert_eq!(req.query("token").as_deref(), Some("a b"));
    /// assert_eq!(req.query("missing"), None);
    /// ```
    pub fn query(&self, name: &str) -> Option<String> {
        query_value(self.parts.uri.query()?, name)
    }

    /// The peer's address, when the server knows it.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
    }

    /// Request extensions (e.g. set by tower layers in front of the server).
    pub fn extensions(&self) -> &axum::http::Extensions {
        &self.parts.extensions
    }

    /// Whether the guards run on a re-authentication (the request is the
    /// upgrade's, with the client's new credentials), not at connect.
    pub fn is_reauthentication(&self) -> bool {
        self.parts.extensions.get::<Reauthenticating>().is_some()
    }

    /// This request with `query` parameters and `headers` replaced (those
    /// named; the rest kept), for the guards of a re-authentication; `Err`
    /// names a header name or value that is not valid HTTP.
    pub(crate) fn with_credentials<'a>(
        &self,
        query: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
        headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<UpgradeRequest, String> {
        let mut parts = Parts::clone(&self.parts);
        let replaced: Vec<&str> = query.clone().into_iter().map(|(name, _)| name).collect();
        let kept =
            parts.uri.query().map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect::<Vec<_>>());
        let mut serializer = form_urlencoded::Serializer::new(String::new());
        for (name, value) in kept.iter().flatten().filter(|(name, _)| !replaced.contains(&name.as_str())) {
            serializer.append_pair(name, value);
        }
        for (name, value) in query {
            serializer.append_pair(name, value);
        }
        let query = serializer.finish();
        let path = parts.uri.path();
        let path_and_query = if query.is_empty() { path.to_owned() } else { format!("{path}?{query}") };
        let mut uri = axum::http::uri::Parts::from(parts.uri.clone());
        uri.path_and_query = Some(path_and_query.parse().map_err(|e| format!("invalid query: {e}"))?);
        parts.uri = Uri::from_parts(uri).map_err(|e| format!("invalid query: {e}"))?;
        for (name, value) in headers {
            let header = axum::http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("`{name}` is not a valid header name"))?;
            let value = axum::http::HeaderValue::from_str(value)
                .map_err(|_| format!("the value of header `{name}` is not a valid header value"))?;
            parts.headers.insert(header, value);
        }
        parts.extensions.insert(Reauthenticating);
        Ok(UpgradeRequest { parts: Arc::new(parts) })
    }

    /// Builds a request from `http` parts (for tests of guards and handlers).
    pub fn from_parts(parts: Parts) -> UpgradeRequest {
        UpgradeRequest::new(parts, None)
    }
}

impl std::fmt::Debug for UpgradeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpgradeRequest")
            .field("uri", &self.parts.uri)
            .field("subprotocol", &self.subprotocol())
            .finish()
    }
}

/// What an upgrade handler may return: `Option<T>` (`None` answers HTTP 401),
/// or `Result<Option<T>, E>` (an `Err` answers HTTP 500 and is logged).
pub trait IntoUpgradeOutcome: Send + 'static {
    /// The data attached to the connection.
    type Data: Send + Sync + 'static;

    /// Converts the handler's return value.
    fn into_outcome(self) -> Result<Option<Self::Data>, BoxError>;
}

impl<T: Send + Sync + 'static> IntoUpgradeOutcome for Option<T> {
    type Data = T;

    fn into_outcome(self) -> Result<Option<T>, BoxError> {
        Ok(self)
    }
}

impl<T, E> IntoUpgradeOutcome for Result<Option<T>, E>
where
    T: Send + Sync + 'static,
    E: Into<BoxError> + Send + 'static,
{
    type Data = T;

    fn into_outcome(self) -> Result<Option<T>, BoxError> {
        self.map_err(Into::into)
    }
}

type UpgradeFn =
    dyn Fn(UpgradeRequest) -> BoxFuture<'static, Result<Option<AnyState>, BoxError>> + Send + Sync;

/// The upgrade handler with its data type erased.
#[derive(Clone)]
pub(crate) struct ErasedUpgradeHandler {
    pub(crate) state: Option<StateKey>,
    call: Arc<UpgradeFn>,
}

impl ErasedUpgradeHandler {
    pub(crate) fn new<F, Fut>(handler: F) -> ErasedUpgradeHandler
    where
        F: Fn(UpgradeRequest) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoUpgradeOutcome,
    {
        ErasedUpgradeHandler {
            state: StateKey::of::<<Fut::Output as IntoUpgradeOutcome>::Data>(),
            call: Arc::new(move |request| {
                handler(request)
                    .map(|outcome| outcome.into_outcome().map(|data| data.map(|d| Box::new(d) as AnyState)))
                    .boxed()
            }),
        }
    }

    /// Runs the handler on `request` within `timeout`: the data to attach,
    /// or the HTTP status and body to refuse with: 401 for `None`; 500 for
    /// an error, a panic or the timeout, each logged.
    pub(crate) async fn run(
        &self,
        request: UpgradeRequest,
        timeout: Duration,
    ) -> Result<AnyState, (StatusCode, &'static str)> {
        match supervised((self.call)(request), timeout).await {
            Ok(Ok(Some(data))) => Ok(data),
            Ok(Ok(None)) => Err((StatusCode::UNAUTHORIZED, "unauthorized")),
            Ok(Err(error)) => {
                tracing::error!(%error, "upgrade handler failed");
                Err((StatusCode::INTERNAL_SERVER_ERROR, "upgrade handler failed"))
            }
            Err(Unfinished::Panicked(panic)) => {
                tracing::error!(panic, "upgrade handler panicked");
                Err((StatusCode::INTERNAL_SERVER_ERROR, "upgrade handler failed"))
            }
            Err(Unfinished::TimedOut) => {
                tracing::error!(?timeout, "upgrade handler timed out");
                Err((StatusCode::INTERNAL_SERVER_ERROR, "upgrade handler timed out"))
            }
        }
    }
}

/// The first value of `name` in `query` (`application/x-www-form-urlencoded`).
/// Guards read the query on every connection, so a pair with nothing to
/// decode (no `%`, no `+`) is read as it is; the others are decoded by
/// `form_urlencoded`, which decides what the whole does.
fn query_value(query: &str, name: &str) -> Option<String> {
    query.split('&').filter(|pair| !pair.is_empty()).find_map(|pair| {
        if pair.bytes().any(|b| b == b'%' || b == b'+') {
            let (key, value) = form_urlencoded::parse(pair.as_bytes()).next()?;
            return (key == name).then(|| value.into_owned());
        }
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then(|| value.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::query_value;

    /// What `form_urlencoded` finds for `name` in the whole query.
    fn decoded(query: &str, name: &str) -> Option<String> {
        form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    #[test]
    fn reads_the_query_as_form_urlencoded_does() {
        for (query, name) in [
            ("token=bench", "token"),
            ("a=1&token=x&token=y", "token"),
            ("token", "token"),
            ("token=", "token"),
            ("&&token=a=b&", "token"),
            ("to%6Ben=1", "token"),
            ("token=a+b%20c%ZZ", "token"),
            ("t+k=1&t k=2", "t k"),
            ("=v", ""),
            ("", ""),
            ("x=%FF", "x"),
        ] {
            assert_eq!(query_value(query, name), decoded(query, name), "{query:?} {name:?}");
        }
    }

    proptest! {
        #[test]
        fn agrees_with_form_urlencoded(query in "[a-c=&%+ 0-9A-F]{0,24}", name in "[a-c +]{0,3}") {
            prop_assert_eq!(query_value(&query, &name), decoded(&query, &name));
        }
    }
}
