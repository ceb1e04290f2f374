//! Every macro of ori, used through a dependency renamed to `realtime`:
//! a router with a connection guard, a message guard, a provider, a typed
//! push and a client stub, each told where the runtime is with
//! `crate = realtime`. The tests in `tests/` serve it.

use std::sync::Arc;

use realtime::{ConnectionGuard, MessageGuard, Reject, Socket, SocketContext, SocketError, UpgradeRequest};
use serde::{Deserialize, Serialize};

/// Who a connection is.
#[derive(Debug, Clone)]
pub struct User {
    /// From `?user=`.
    pub name: String,
}

/// Admits connections that say who they are with `?user=`.
#[realtime::connection_guard(crate = realtime)]
#[derive(Debug)]
pub struct UserGuard;

impl ConnectionGuard for UserGuard {
    type State = User;

    async fn check(&self, request: &UpgradeRequest) -> Result<User, Reject> {
        request.query("user").map(|name| User { name }).ok_or_else(|| Reject::new("?user= is missing"))
    }
}

/// Lets only `root` shout.
#[realtime::message_guard(crate = realtime)]
#[derive(Debug)]
pub struct RootOnly;

impl MessageGuard for RootOnly {
    async fn check(&self, socket: &Socket, _message_type: &str) -> Result<(), Reject> {
        match socket.try_state::<User>() {
            Some(user) if user.name == "root" => Ok(()),
            _ => Err(Reject::new("only root may shout")),
        }
    }
}

/// A provider the router is built with.
#[realtime::injectable(crate = realtime)]
#[derive(Debug)]
pub struct Greeter {
    #[inject(default)]
    greeting: GreetingWord,
}

/// The word a greeting starts with.
#[derive(Debug)]
pub struct GreetingWord(pub &'static str);

impl Default for GreetingWord {
    fn default() -> Self {
        GreetingWord("hello")
    }
}

/// `echo.greet` data.
#[derive(Debug, Serialize, Deserialize)]
pub struct Greet {
    /// Who to greet.
    pub name: String,
}

/// `echo.greet` reply.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Greeting {
    /// The greeting.
    pub text: String,
}

/// Pushed to the `shouts` topic by `echo.shout`.
#[derive(Debug, Serialize, Deserialize, realtime::SocketMessage)]
#[message(type = "echo.shouted", crate = realtime)]
pub struct Shouted {
    /// Who shouted.
    pub by: String,
}

/// The router, its guard and its client stub `EchoClient`.
#[realtime::injectable(crate = realtime)]
#[derive(Debug)]
pub struct EchoRouter {
    greeter: Arc<Greeter>,
}

#[realtime::socket_router(guard = UserGuard, client = EchoClient, crate = realtime)]
impl EchoRouter {
    /// Greets by name, as the connection's user.
    #[on("echo.greet")]
    async fn greet(&self, ctx: SocketContext<User>, data: Greet) -> Greeting {
        Greeting { text: format!("{}, {} (from {})", self.greeter.greeting.0, data.name, ctx.state().name) }
    }

    /// Pushes `echo.shouted` to the `shouts` topic.
    #[on("echo.shout", guard = RootOnly)]
    async fn shout(&self, ctx: SocketContext<User>) -> Result<(), SocketError> {
        ctx.sockets().emit("shouts", &Shouted { by: ctx.state().name.clone() })?;
        Ok(())
    }
}
