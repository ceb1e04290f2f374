//! [`ApiDescription`]: what an app's WebSocket endpoint understands, taken
//! from the routers the macros collected: every route (its message type,
//! `data`, reply, errors, guards and doc comment) and every typed push
//! (`#[derive(SocketMessage)]`), with JSON Schemas where the types have them
//! (feature `schema`). From it, an AsyncAPI 3.0 document ([`asyncapi`]) and
//! a typed TypeScript client ([`typescript`]).
//!
//! ```
//! # #[derive(serde::Deserialize)] struct Say { text: String }
//! let app = ori::Ori::create().websocket(ori::WebSocketConfig::default());
//! let description = app.describe();
//! let asyncapi = description.asyncapi("Chat", "1.0.0");
//! assert_eq!(asyncapi["asyncapi"], "3.0.0");
//! ```

pub mod asyncapi;
pub(crate) mod push;
pub mod typescript;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

pub use push::PushRegistration;

use crate::routing::guard_plan::GuardPlan;
use crate::routing::router::RouterRegistration;
use crate::routing::table::RouteShape;
use crate::routing::{SchemaFn, SchemaSet};

/// An app's WebSocket API, as its routers and pushes declare it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiDescription {
    /// The envelope endpoint's path (e.g. `/ws`), if the app has one.
    pub path: Option<String>,
    /// Every route, by router (sorted by name), in source order.
    pub routes: Vec<RouteDescription>,
    /// Every typed push (`#[derive(SocketMessage)]`) declared in the crates
    /// of the mounted routers, sorted by message type.
    pub pushes: Vec<PushDescription>,
    /// The named schemas the routes and pushes refer to
    /// (`{"$ref": "#/definitions/Name"}`, JSON Schema draft 7).
    pub definitions: BTreeMap<String, Value>,
    /// The envelope endpoint has a rate limit: any message may be answered
    /// `rate_limited`.
    pub rate_limited: bool,
    /// The connection guards every connection must pass, in the order they
    /// run (a refusal closes the connection with 1008).
    pub connection_guards: Vec<String>,
}

/// One route of a router.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteDescription {
    /// The message `type`.
    pub message_type: String,
    /// The router's name (its type's), or a `SocketRoutes` name.
    pub router: String,
    /// The handler method's name (empty for hand-written routes).
    pub handler: String,
    /// The handler's doc comment.
    pub doc: String,
    /// The request's `data`.
    pub data: TypeDescription,
    /// The reply's `data`.
    pub reply: TypeDescription,
    /// The error codes this route may answer: ori's own (`bad_request` when
    /// it takes `data`, `forbidden` behind message guards, `timeout` when it
    /// has one, `internal`), then
    /// those its handler declares (`#[on("x", errors = ["not_found"])]`).
    pub errors: Vec<String>,
    /// The message guards in front of the handler, in order.
    pub message_guards: Vec<String>,
    /// The connection guards every connection passed before it can send
    /// this (run once, at connect time; a refusal closes the connection with
    /// 1008): the same for every route of the endpoint.
    pub connection_guards: Vec<String>,
    /// The router-scoped guards of its router (`guard_scope = "router"`; run
    /// once, at connect time): a connection they refused gets `forbidden`
    /// on this route.
    pub router_guards: Vec<String>,
}

/// A Rust type and its JSON Schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TypeDescription {
    /// The type as written in the source (`()` for none; `?` where unknown).
    pub rust: String,
    /// Its JSON Schema, if it has one (feature `schema` and
    /// `schemars::JsonSchema` implemented); a client should then treat it as
    /// any JSON value.
    pub schema: Option<Value>,
}

impl TypeDescription {
    /// Whether the type is `()`: no `data` to send, or `null` replied.
    pub fn is_unit(&self) -> bool {
        self.rust == "()"
    }
}

/// A typed push the server sends (a `#[derive(SocketMessage)]` type).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushDescription {
    /// The message `type`.
    pub message_type: String,
    /// The type's doc comment.
    pub doc: String,
    /// Its `data`.
    pub data: TypeDescription,
}

/// A hand-written route set: its name, and its routes' message types with
/// what each declares.
pub(crate) type HandWritten = (String, Vec<(&'static str, Option<RouteShape>)>);

/// Describes `routers` (in mount order; described sorted by name) and the
/// hand-written route sets, with the envelope endpoint at `path` and the
/// guards as `guards` (the plan the server runs) puts them.
pub(crate) fn describe(
    path: Option<String>,
    guards: &GuardPlan,
    routers: &[RouterRegistration],
    hand_written: &[HandWritten],
) -> ApiDescription {
    let mut set = SchemaSet::new();
    let mut routes = Vec::new();
    let connection_guards = guards.connection_guard_names();
    let mut sorted: Vec<(&RouterRegistration, u64)> =
        routers.iter().zip(guards.needs.iter().copied().chain(std::iter::repeat(0))).collect();
    sorted.sort_by_key(|(r, _)| r.name);
    for (router, needs) in sorted {
        let router_guards = guards.router_guard_names(needs);
        for info in (router.routes)() {
            let route = Route {
                message_type: info.message_type,
                router: router.name,
                handler: info.handler,
                doc: info.doc,
                data: TypeDescription { rust: info.request.to_owned(), schema: (info.data_schema)(&mut set) },
                reply: TypeDescription { rust: info.reply.to_owned(), schema: (info.reply_schema)(&mut set) },
                message_guards: info.guards.iter().map(|g| (*g).to_owned()).collect(),
                declared_errors: info.errors,
                timeout: info.timeout,
                connection_guards: &connection_guards,
                router_guards: &router_guards,
            };
            routes.push(route.describe());
        }
    }
    for (name, shapes) in hand_written {
        for (message_type, shape) in shapes {
            let unknown = || TypeDescription { rust: "?".to_owned(), schema: None };
            let typed = |rust: &str, schema: SchemaFn, set: &mut SchemaSet| TypeDescription {
                rust: short_type_name(rust),
                schema: schema(set),
            };
            let (data, reply, message_guards) = match shape {
                Some(shape) => (
                    typed(shape.data, shape.data_schema, &mut set),
                    typed(shape.reply, shape.reply_schema, &mut set),
                    shape.guard.iter().map(|g| short_type_name(g)).collect(),
                ),
                None => (unknown(), unknown(), Vec::new()),
            };
            let route = Route {
                message_type,
                router: name,
                handler: "",
                doc: "",
                data,
                reply,
                message_guards,
                declared_errors: &[],
                timeout: shape.as_ref().and_then(|s| s.timeout),
                connection_guards: &connection_guards,
                router_guards: &[],
            };
            routes.push(route.describe());
        }
    }
    let crates: Vec<&str> = routers.iter().map(|r| push::crate_of(r.module)).collect();
    let pushes = push::registered(&crates)
        .into_iter()
        .map(|push| PushDescription {
            message_type: push.message_type.to_owned(),
            doc: push.doc.to_owned(),
            data: TypeDescription { rust: push.rust.to_owned(), schema: (push.schema)(&mut set) },
        })
        .collect();
    ApiDescription {
        path,
        routes,
        pushes,
        definitions: set.into_definitions(),
        rate_limited: false,
        connection_guards: connection_guards.iter().map(|g| short_type_name(g)).collect(),
    }
}

/// What a route is made of, whoever declared it.
struct Route<'a> {
    message_type: &'a str,
    router: &'a str,
    handler: &'a str,
    doc: &'a str,
    data: TypeDescription,
    reply: TypeDescription,
    message_guards: Vec<String>,
    declared_errors: &'a [&'static str],
    timeout: Option<std::time::Duration>,
    /// Full type names, in the order they run.
    connection_guards: &'a [&'static str],
    /// Full type names of its router-scoped guards.
    router_guards: &'a [&'static str],
}

impl Route<'_> {
    fn describe(self) -> RouteDescription {
        let mut errors = Vec::new();
        if !self.data.is_unit() {
            errors.push("bad_request".to_owned());
        }
        if !self.message_guards.is_empty() || !self.router_guards.is_empty() {
            errors.push("forbidden".to_owned());
        }
        if self.timeout.is_some() {
            errors.push("timeout".to_owned());
        }
        errors.push("internal".to_owned());
        for code in self.declared_errors {
            if !errors.iter().any(|e| e == code) {
                errors.push((*code).to_owned());
            }
        }
        RouteDescription {
            message_type: self.message_type.to_owned(),
            router: self.router.to_owned(),
            handler: self.handler.to_owned(),
            doc: self.doc.trim().to_owned(),
            data: self.data,
            reply: self.reply,
            errors,
            message_guards: self.message_guards,
            connection_guards: self.connection_guards.iter().map(|g| short_type_name(g)).collect(),
            router_guards: self.router_guards.iter().map(|g| short_type_name(g)).collect(),
        }
    }
}

/// `base`, or `base{separator}2`, `base{separator}3`, ... if taken; marks it
/// taken. Names in generated TypeScript and AsyncAPI keys are made distinct
/// with it.
pub(crate) fn distinct_name(
    base: &str,
    separator: &str,
    taken: &mut std::collections::BTreeSet<String>,
) -> String {
    let mut name = base.to_owned();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{base}{separator}{n}");
        n += 1;
    }
    taken.insert(name.clone());
    name
}

/// A type's name without its module path (`app::Guard<x::Y>` -> `Guard<Y>`),
/// as written in the source, whichever crate compiled it.
pub(crate) fn short_type_name(name: &str) -> String {
    let mut out = String::new();
    let mut segment = String::new();
    for c in name.chars() {
        match c {
            ':' => segment.clear(),
            '<' | '>' | ',' | ' ' | '(' | ')' | '[' | ']' | ';' | '&' => {
                out.push_str(&segment);
                segment.clear();
                out.push(c);
            }
            _ => segment.push(c),
        }
    }
    out + &segment
}

#[cfg(test)]
mod tests {
    use super::short_type_name;

    #[test]
    fn type_names_lose_their_module_paths() {
        assert_eq!(short_type_name("presence::app::TokenGuard"), "TokenGuard");
        assert_eq!(short_type_name("a::Guard<b::c::Y, (d::E, u8)>"), "Guard<Y, (E, u8)>");
        assert_eq!(short_type_name("Plain"), "Plain");
    }
}
