//! [`AppContext`]: the application's handle to providers and sockets.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use crate::connection::registry::Connections;
use crate::connection::sockets::Sockets;

pub(crate) type ProviderMap = HashMap<TypeId, Arc<dyn Any + Send + Sync>>;

/// The application context: server-level pub/sub ([`AppContext::sockets`]) and
/// the providers built at start-up ([`AppContext::get`]).
///
/// Cheap to clone. Injectable into providers, reachable from every socket
/// handler (`ctx.app()`), and from HTTP routes as axum state
/// (`State<AppContext>`) or as `Extension<AppContext>`.
#[derive(Clone)]
pub struct AppContext {
    inner: Arc<Inner>,
}

struct Inner {
    sockets: Sockets,
    providers: OnceLock<ProviderMap>,
}

impl AppContext {
    pub(crate) fn new(connections: Arc<Connections>) -> AppContext {
        AppContext {
            inner: Arc::new(Inner { sockets: Sockets::new(connections), providers: OnceLock::new() }),
        }
    }

    /// Server-level pub/sub: publish, broadcast, send to one socket.
    pub fn sockets(&self) -> &Sockets {
        &self.inner.sockets
    }

    /// The provider of type `T`, once start-up has built it.
    ///
    /// Returns `None` for a type nothing provides, and while providers are
    /// still being built (inside a constructor, ask for `Arc<T>` as an
    /// argument instead).
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        let any = self.inner.providers.get()?.get(&TypeId::of::<T>())?.clone();
        any.downcast::<T>().ok()
    }

    pub(crate) fn connections(&self) -> &Arc<Connections> {
        self.inner.sockets.connections()
    }

    pub(crate) fn set_providers(&self, providers: ProviderMap) {
        let _ = self.inner.providers.set(providers);
    }
}

impl std::fmt::Debug for AppContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppContext")
            .field("providers", &self.inner.providers.get().map_or(0, HashMap::len))
            .field("connections", &self.inner.sockets.connection_count())
            .finish()
    }
}
