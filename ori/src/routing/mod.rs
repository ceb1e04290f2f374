//! Message routing: the [`SocketRouter`] trait and route metadata that
//! `#[socket_router]` generates, the route table ([`SocketRoutes`]),
//! handlers, the routers' `inventory` registrations, layers around routes
//! ([`layer`](crate::layer)), and the JSON Schemas of what routes read and
//! reply ([`SchemaSet`]).

pub(crate) mod guard_plan;
pub(crate) mod handler;
pub(crate) mod layer;
pub(crate) mod router;
pub(crate) mod schema;
pub(crate) mod shared;
pub(crate) mod table;

pub use handler::Handler;
pub use router::{RouteInfo, SocketRouter};
pub use schema::{SchemaFn, SchemaSet};
pub use shared::SharedHandler;
pub use table::SocketRoutes;
