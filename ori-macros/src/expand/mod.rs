//! Token generation from the validated models; nothing here fails on user input.

pub(crate) mod client;
pub(crate) mod injectable;
pub(crate) mod message;
pub(crate) mod router;
pub(crate) mod router_doc;
