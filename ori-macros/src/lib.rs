//! Attribute macros of [ori](https://docs.rs/ori). Use them through the `ori`
//! crate (`use ori::prelude::*` or `ori::socket_router`); generated code names
//! the runtime only as `::ori::__private` (or the path given with `crate = ..`).
//!
//! The crate is organised parse → model → expand: `parse/` reads the
//! attributes' grammar with spans, `model.rs` checks every rule that needs no
//! types and collects all errors (`ctxt.rs`), and `expand/` only emits tokens.
//! Set `ORI_MACROS_DEBUG=1` to print every expansion to stderr.

use proc_macro::TokenStream;

mod ctxt;
mod expand;
mod model;
mod names;
mod parse;
mod paths;

fn debug(name: &str, tokens: proc_macro2::TokenStream) -> TokenStream {
    if std::env::var_os("ORI_MACROS_DEBUG").is_some() {
        eprintln!("---- ori-macros: #[{name}] ----\n{tokens}");
    }
    tokens.into()
}

/// Turns an inherent impl's `#[on("type")]` methods into socket routes.
///
/// See the `ori` crate documentation (`ori::socket_router`).
#[proc_macro_attribute]
pub fn socket_router(args: TokenStream, input: TokenStream) -> TokenStream {
    debug("socket_router", expand::socket_router(args.into(), input.into()))
}

/// Marks a method of a `#[socket_router]` impl as the handler of a message type.
#[proc_macro_attribute]
pub fn on(_args: TokenStream, input: TokenStream) -> TokenStream {
    expand::stray_on(input.into()).into()
}

/// Makes a struct buildable by the container: every field is a dependency.
#[proc_macro_attribute]
pub fn injectable(args: TokenStream, input: TokenStream) -> TokenStream {
    debug(
        "injectable",
        expand::injectable::expand(expand::injectable::Kind::Injectable, args.into(), input.into()),
    )
}

/// `#[injectable]` for a `ConnectionGuard` implementor.
#[proc_macro_attribute]
pub fn connection_guard(args: TokenStream, input: TokenStream) -> TokenStream {
    let kind = expand::injectable::Kind::ConnectionGuard;
    debug("connection_guard", expand::injectable::expand(kind, args.into(), input.into()))
}

/// `#[injectable]` for a `MessageGuard` implementor.
#[proc_macro_attribute]
pub fn message_guard(args: TokenStream, input: TokenStream) -> TokenStream {
    let kind = expand::injectable::Kind::MessageGuard;
    debug("message_guard", expand::injectable::expand(kind, args.into(), input.into()))
}

/// Implements `ori::SocketMessage` from `#[message(type = "...")]`.
#[proc_macro_derive(SocketMessage, attributes(message))]
pub fn derive_socket_message(input: TokenStream) -> TokenStream {
    debug("derive(SocketMessage)", expand::message::expand(input.into()))
}
