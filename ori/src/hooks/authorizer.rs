//! [`TopicAuthorizer`]: which topics a connection may join.

use std::future::Future;
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use crate::handles::socket::Socket;

/// Decides whether a connection may subscribe to a topic through the
/// `subscribe` control message; a refusal answers `forbidden`.
///
/// Without one, any valid topic not beginning with `__` may be joined. Server
/// code calling [`Socket::subscribe`] is not asked.
///
/// A plain function or closure works too:
///
/// ```
/// # use ori::{Ori, Socket};
/// Ori::create().topic_authorizer(|_socket: &Socket, topic: &str| topic.starts_with("room:"));
/// ```
pub trait TopicAuthorizer: Send + Sync + 'static {
    /// `true` lets the connection subscribe to `topic`.
    fn authorize(&self, socket: &Socket, topic: &str) -> impl Future<Output = bool> + Send;
}

impl<F> TopicAuthorizer for F
where
    F: Fn(&Socket, &str) -> bool + Send + Sync + 'static,
{
    fn authorize(&self, socket: &Socket, topic: &str) -> impl Future<Output = bool> + Send {
        std::future::ready(self(socket, topic))
    }
}

type AuthorizeFn = dyn Fn(Socket, String) -> BoxFuture<'static, bool> + Send + Sync;

/// An authorizer with its type erased.
#[derive(Clone)]
pub(crate) struct ErasedAuthorizer {
    call: Arc<AuthorizeFn>,
}

impl ErasedAuthorizer {
    pub(crate) fn new<A: TopicAuthorizer>(authorizer: A) -> ErasedAuthorizer {
        let authorizer = Arc::new(authorizer);
        ErasedAuthorizer {
            call: Arc::new(move |socket, topic| {
                let authorizer = authorizer.clone();
                async move { authorizer.authorize(&socket, &topic).await }.boxed()
            }),
        }
    }

    pub(crate) fn authorize(&self, socket: Socket, topic: String) -> BoxFuture<'static, bool> {
        (self.call)(socket, topic)
    }
}
