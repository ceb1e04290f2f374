//! Each macro's pipeline: parse (grammar, `parse/`) → model (every rule that
//! needs no types, all errors collected, `model/`) → expand (tokens only,
//! `expand/`). On errors the item goes out as the user wrote it (minus the
//! attributes the macro consumes), followed by the errors, so IDEs and later
//! errors stay sane.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ctxt::Ctxt;
use crate::expand;
use crate::model;
use crate::model::injectable::Kind;
use crate::parse::injectable::InjectableArgs;
use crate::parse::router::RouterArgs;
use crate::paths::Paths;

/// `#[socket_router]` on an impl block.
pub(crate) fn socket_router(args: TokenStream, input: TokenStream) -> TokenStream {
    let cx = Ctxt::new();
    let args = syn::parse2::<RouterArgs>(args).unwrap_or_else(|e| {
        cx.push(e);
        RouterArgs::default()
    });
    let mut item: syn::ItemImpl = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            cx.error_spanned_by(
                &input,
                "`#[socket_router]` goes on an impl block; put `#[injectable]` on the router's struct",
            );
            return with_errors(input, cx);
        }
    };
    let paths = Paths::new(args.krate.clone());
    let router = model::router::router(&cx, args, &mut item);
    match (cx.check(), router) {
        (Ok(()), Some(router)) => {
            let table = expand::router_doc::route_table(&router);
            item.attrs.push(syn::parse_quote!(#[doc = #table]));
            let generated = expand::router::expand(&paths, &router);
            let stub = router.client.as_ref().map(|name| expand::client::expand(&paths, &router, name));
            quote!(#item #generated #stub)
        }
        (Err(errors), _) => {
            let errors = errors.to_compile_error();
            quote!(#item #errors)
        }
        (Ok(()), None) => quote!(#item),
    }
}

/// `#[on]` anywhere but inside a `#[socket_router]` impl.
pub(crate) fn stray_on(mut input: TokenStream) -> TokenStream {
    let error = syn::Error::new(
        proc_macro2::Span::call_site(),
        "`#[on]` must be on a method of an impl block marked `#[socket_router]`",
    )
    .to_compile_error();
    input.extend(error);
    input
}

/// `#[injectable]`, `#[connection_guard]`, `#[message_guard]` on a struct.
pub(crate) fn injectable(kind: Kind, args: TokenStream, input: TokenStream) -> TokenStream {
    let cx = Ctxt::new();
    let args =
        syn::parse::Parser::parse2(InjectableArgs::parser(kind.attribute()), args).unwrap_or_else(|e| {
            cx.push(e);
            InjectableArgs::default()
        });
    let item: syn::Item = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(e) => {
            cx.push(e);
            return with_errors(input, cx);
        }
    };
    let Some(injectable) = model::injectable::injectable(&cx, kind, args, item) else {
        return with_errors(input, cx);
    };
    match cx.check() {
        Ok(()) => expand::injectable::expand(&injectable),
        Err(errors) => {
            let strukt = &injectable.strukt;
            let errors = errors.to_compile_error();
            quote!(#strukt #errors)
        }
    }
}

/// `#[derive(SocketMessage)]`.
pub(crate) fn socket_message(input: TokenStream) -> TokenStream {
    let input: syn::DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(e) => return e.to_compile_error(),
    };
    let cx = Ctxt::new();
    let message = model::message::message(&cx, input);
    match (cx.check(), message) {
        (Ok(()), Some(message)) => expand::message::expand(&message),
        (Err(errors), _) => errors.to_compile_error(),
        (Ok(()), None) => TokenStream::new(),
    }
}

/// The input unchanged plus the errors.
fn with_errors(input: TokenStream, cx: Ctxt) -> TokenStream {
    let mut tokens = input;
    if let Err(errors) = cx.check() {
        tokens.extend(errors.to_compile_error());
    }
    tokens
}
