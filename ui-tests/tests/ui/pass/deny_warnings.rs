// The expansion is warning-free and documented.
#![deny(warnings, missing_docs)]
//! A documented crate.

use std::sync::Arc;

use ori::prelude::*;

/// A provider.
#[injectable]
pub struct Store;

/// A router.
#[injectable]
pub struct Router {
    store: Arc<Store>,
}

#[socket_router]
impl Router {
    /// A route.
    #[on("docs.get")]
    pub async fn get(&self) -> Result<u8, SocketError> {
        let _ = &self.store;
        Ok(1)
    }
}

/// A message.
#[derive(serde::Serialize, ori::SocketMessage)]
#[message(type = "docs.changed")]
pub struct Changed;

fn main() {}
