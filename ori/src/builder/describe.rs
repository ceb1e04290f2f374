//! [`Ori::describe`]: what an app's WebSocket endpoint understands, from
//! its builder, without building or starting anything.

use crate::builder::ori::Ori;
use crate::describe::{self, ApiDescription};
use crate::di::Discovery;
use crate::routing::guard_plan::{GuardName, GuardPlan};
use crate::routing::router::{self, RouterRegistration};

impl Ori {
    /// What the app's WebSocket endpoint understands: every route of the
    /// routers it mounts (with discovery, every `#[socket_router]` linked
    /// in), every typed push, and their JSON Schemas (feature `schema`).
    /// Nothing is built or started. Routes added with
    /// [`socket_routes`](Ori::socket_routes) are listed with their Rust
    /// types, and JSON Schemas where `SocketRoutes::schema` (feature `schema`) gives them.
    ///
    /// ```
    /// let app = ori::Ori::create().websocket(ori::WebSocketConfig::default());
    /// let description = app.describe();
    /// assert_eq!(description.path.as_deref(), Some("/ws"));
    /// let typescript = description.typescript(&ori::describe::typescript::Options::default());
    /// assert!(typescript.contains("export class"));
    /// ```
    pub fn describe(&self) -> ApiDescription {
        let (_, routers) = self.mounted_routers();
        let hand_written = self
            .socket_routes
            .iter()
            .map(|routes| (routes.name().to_owned(), routes.shapes()))
            .collect::<Vec<_>>();
        let path = self.websocket.as_ref().map(|c| c.path.clone());
        // An invalid plan (too many router-scoped guards) fails the build;
        // described, it lists what fits.
        let guards = GuardPlan::new(&self.app_guards(), &routers).unwrap_or_default();
        let mut description = describe::describe(path, &guards, &routers, &hand_written);
        description.rate_limited = self.websocket.as_ref().is_some_and(|c| c.rate_limit.is_some());
        description
    }

    /// The app's own connection guards (`Ori::connection_guard`), in order.
    pub(super) fn app_guards(&self) -> Vec<GuardName> {
        self.hooks.guards.iter().map(|g| GuardName { id: g.type_id, name: g.name }).collect()
    }

    /// The routers to mount, and how providers are found for them.
    pub(super) fn mounted_routers(&self) -> (Discovery, Vec<RouterRegistration>) {
        let mut routers = self.routers.clone();
        if !self.discover {
            return (Discovery::Reachable, routers);
        }
        for registered in router::registered_routers() {
            if !routers.iter().any(|r| (r.type_id)() == (registered.type_id)()) {
                routers.push(registered);
            }
        }
        (Discovery::All, routers)
    }
}

#[cfg(test)]
mod tests {
    use crate::handles::socket::{Socket, SocketContext};
    use crate::hooks::guard::{ConnectionGuard, MessageGuard, Reject};
    use crate::protocol::socket_error::SocketError;
    use crate::routing::table::SocketRoutes;

    struct Token;

    impl ConnectionGuard for Token {
        type State = ();
        async fn check(&self, _: &crate::hooks::upgrade::UpgradeRequest) -> Result<(), Reject> {
            Ok(())
        }
    }

    struct Admin;

    impl MessageGuard for Admin {
        async fn check(&self, _: &Socket, _: &str) -> Result<(), Reject> {
            Ok(())
        }
    }

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Add {
        #[allow(dead_code)]
        a: i64,
    }

    async fn add(_: SocketContext, data: Add) -> Result<i64, SocketError> {
        Ok(data.a)
    }

    async fn reset(_: SocketContext) {}

    fn hand_written() -> crate::builder::ori::Ori {
        crate::builder::ori::Ori::create()
            .discover(false)
            .websocket(crate::endpoint::config::WebSocketConfig::default())
            .connection_guard(Token)
            .socket_routes(SocketRoutes::named("MathRoutes").route("math.add", add).guarded_route(
                "math.reset",
                Admin,
                reset,
            ))
    }

    #[test]
    fn hand_written_routes_are_described_by_their_types_and_guards() {
        let description = hand_written().describe();
        let [add, reset] = &description.routes[..] else { panic!("{:?}", description.routes) };
        assert_eq!((add.message_type.as_str(), add.router.as_str()), ("math.add", "MathRoutes"));
        assert_eq!((add.data.rust.as_str(), add.reply.rust.as_str()), ("Add", "i64"));
        assert_eq!(add.errors, ["bad_request", "internal"]);
        assert_eq!(add.connection_guards, ["Token"]);
        assert!(add.data.schema.is_none(), "no schema unless declared");
        assert_eq!((reset.data.rust.as_str(), reset.reply.rust.as_str()), ("()", "()"));
        assert_eq!(reset.message_guards, ["Admin"]);
        assert_eq!(reset.errors, ["forbidden", "internal"]);
    }

    #[cfg(feature = "schema")]
    #[test]
    fn hand_written_routes_take_declared_schemas() {
        let app = crate::builder::ori::Ori::create()
            .discover(false)
            .websocket(crate::endpoint::config::WebSocketConfig::default())
            .socket_routes(SocketRoutes::named("MathRoutes").route("math.add", add).schema::<Add, i64>());
        let description = app.describe();
        let add = &description.routes[0];
        assert_eq!(add.data.schema, Some(serde_json::json!({ "$ref": "#/definitions/Add" })));
        assert_eq!(add.reply.schema.as_ref().unwrap()["type"], "integer");
        assert_eq!(description.definitions["Add"]["properties"]["a"]["type"], "integer");
    }

    #[cfg(feature = "schema")]
    #[test]
    #[should_panic(
        expected = "does not match route `math.add`, whose handler takes `ori::builder::describe::tests::Add` and replies `i64`"
    )]
    fn a_schema_of_other_types_is_refused_with_the_handler_types() {
        let _ = SocketRoutes::named("MathRoutes").route("math.add", add).schema::<String, i64>();
    }
}
