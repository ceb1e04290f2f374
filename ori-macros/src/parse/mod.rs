//! Grammar only: the attributes' arguments as written, with their spans.

pub(crate) mod args;
pub(crate) mod injectable;
mod kw;
pub(crate) mod message;
pub(crate) mod on;
pub(crate) mod router;
