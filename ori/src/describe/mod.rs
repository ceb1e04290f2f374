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

use crate::routing::registration::RouterRegistration;
use crate::routing::{RouteInfo, SchemaSet};

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
    /// The error codes ori itself may answer for this route (an app's own
    /// codes come from its handlers and are not listed).
    pub errors: Vec<String>,
    /// The message guards in front of the handler, in order.
    pub message_guards: Vec<String>,
    /// The connection guards of the router (run once, at connect time).
    pub connection_guards: Vec<String>,
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

/// Describes `routers` (already sorted) and the hand-written route sets
/// (`(name, message types)`), with the envelope endpoint at `path`.
pub(crate) fn describe(
    path: Option<String>,
    routers: &[RouterRegistration],
    hand_written: Vec<(String, Vec<&'static str>)>,
) -> ApiDescription {
    let mut set = SchemaSet::new();
    let mut routes = Vec::new();
    for router in routers {
        let connection_guards: Vec<String> =
            (router.guards)().iter().map(|g| short_type_name(g.name())).collect();
        for info in (router.routes)() {
            routes.push(route(&mut set, router.name, &info, &connection_guards));
        }
    }
    for (name, types) in hand_written {
        for message_type in types {
            let unknown = TypeDescription { rust: "?".to_owned(), schema: None };
            routes.push(RouteDescription {
                message_type: message_type.to_owned(),
                router: name.clone(),
                handler: String::new(),
                doc: String::new(),
                data: unknown.clone(),
                reply: unknown,
                errors: vec!["bad_request".to_owned(), "internal".to_owned()],
                message_guards: Vec::new(),
                connection_guards: Vec::new(),
            });
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
    ApiDescription { path, routes, pushes, definitions: set.into_definitions() }
}

fn route(
    set: &mut SchemaSet,
    router: &str,
    info: &RouteInfo,
    connection_guards: &[String],
) -> RouteDescription {
    let data = TypeDescription { rust: info.request.to_owned(), schema: (info.data_schema)(set) };
    let mut errors = Vec::new();
    if !data.is_unit() {
        errors.push("bad_request".to_owned());
    }
    if !info.guards.is_empty() {
        errors.push("forbidden".to_owned());
    }
    errors.push("internal".to_owned());
    RouteDescription {
        message_type: info.message_type.to_owned(),
        router: router.to_owned(),
        handler: info.handler.to_owned(),
        doc: info.doc.trim().to_owned(),
        data,
        reply: TypeDescription { rust: info.reply.to_owned(), schema: (info.reply_schema)(set) },
        errors,
        message_guards: info.guards.iter().map(|g| (*g).to_owned()).collect(),
        connection_guards: connection_guards.to_vec(),
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
fn short_type_name(name: &str) -> String {
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
