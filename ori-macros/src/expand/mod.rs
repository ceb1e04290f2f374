//! Token generation from the validated model; nothing here fails on user input.

pub(crate) mod client;
pub(crate) mod injectable;
pub(crate) mod message;
pub(crate) mod router;

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemImpl;

use crate::ctxt::Ctxt;
use crate::model;
use crate::parse::router::RouterArgs;
use crate::paths::Paths;

/// `#[socket_router]` on an impl block.
pub(crate) fn socket_router(args: TokenStream, input: TokenStream) -> TokenStream {
    let cx = Ctxt::new();
    let args = match syn::parse2::<RouterArgs>(args) {
        Ok(args) => args,
        Err(e) => {
            cx.push(e);
            RouterArgs::default()
        }
    };
    let mut item: ItemImpl = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            cx.error_spanned_by(
                &input,
                "`#[socket_router]` goes on an impl block; put `#[injectable]` on the router's struct",
            );
            return injectable::with_errors(input, cx);
        }
    };
    let paths = Paths::new(args.krate.clone());
    let router = model::router(&cx, args, &mut item);
    match (cx.check(), router) {
        (Ok(()), Some(router)) => {
            let generated = router::expand(&paths, &router);
            let stub = router.client.as_ref().map(|name| client::expand(&paths, &router, name));
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
