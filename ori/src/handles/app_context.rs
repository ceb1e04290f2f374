//! [`AppContext`]: the application's handle to providers and sockets, and
//! [`AppShared`], what every handle of one app shares.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::connection::admission::Admissions;
use crate::connection::registry::ConnectionRegistry;
use crate::handles::sockets::Sockets;
use crate::pubsub::PubSubBackend;
use crate::pubsub::history::HistoryRules;

pub(crate) type ProviderMap = HashMap<TypeId, Arc<dyn Any + Send + Sync>>;

/// What every handle of one app shares: its open connections, who may
/// connect, its pub/sub backend and its providers.
pub(crate) struct AppShared {
    pub(crate) connections: Arc<ConnectionRegistry>,
    pub(crate) admissions: Admissions,
    pub(crate) pubsub: Arc<dyn PubSubBackend>,
    /// Which topics keep history.
    pub(crate) history: HistoryRules,
    /// The runtimes serving the app (the one running `serve` and each
    /// worker's), whose tasks the metrics count.
    pub(crate) runtimes: Mutex<Vec<tokio::runtime::Handle>>,
    providers: OnceLock<ProviderMap>,
}

impl AppShared {
    /// Tasks alive on the runtimes serving the app.
    pub(crate) fn alive_tasks(&self) -> usize {
        crate::util::sync::lock(&self.runtimes).iter().map(|r| r.metrics().num_alive_tasks()).sum()
    }
}

/// The application context: server-level pub/sub ([`AppContext::sockets`]) and
/// the providers built at start-up ([`AppContext::get`]).
///
/// Cheap to clone. Injectable into providers, reachable from every socket
/// handler (`ctx.app()`), and from HTTP routes as axum state
/// (`State<AppContext>`) or as `Extension<AppContext>`.
#[derive(Clone)]
pub struct AppContext {
    sockets: Sockets,
}

impl AppContext {
    /// A context whose topics `pubsub` carries (those `history` names
    /// keeping history); providers come later ([`set_providers`](Self::set_providers)).
    pub(crate) fn new(pubsub: Arc<dyn PubSubBackend>, history: HistoryRules) -> AppContext {
        let shared = AppShared {
            connections: Arc::default(),
            admissions: Admissions::default(),
            pubsub,
            history,
            runtimes: Mutex::default(),
            providers: OnceLock::new(),
        };
        AppContext { sockets: Sockets::new(Arc::new(shared)) }
    }

    /// Server-level pub/sub: publish, broadcast, send to one socket.
    pub fn sockets(&self) -> &Sockets {
        &self.sockets
    }

    /// The provider of type `T`, once start-up has built it.
    ///
    /// Returns `None` for a type nothing provides, and while providers are
    /// still being built (inside a constructor, ask for `Arc<T>` as an
    /// argument instead).
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        let any = self.shared().providers.get()?.get(&TypeId::of::<T>())?.clone();
        any.downcast::<T>().ok()
    }

    /// The context whose [`sockets`](Self::sockets) are `sockets`.
    pub(crate) fn of(sockets: Sockets) -> AppContext {
        AppContext { sockets }
    }

    pub(crate) fn shared(&self) -> &AppShared {
        self.sockets.shared()
    }

    pub(crate) fn set_providers(&self, providers: ProviderMap) {
        let _ = self.shared().providers.set(providers);
    }
}

impl std::fmt::Debug for AppContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppContext")
            .field("providers", &self.shared().providers.get().map_or(0, HashMap::len))
            .field("connections", &self.sockets.connection_count())
            .finish()
    }
}
