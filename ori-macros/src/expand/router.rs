//! `#[socket_router]`: the impl as written (minus `#[on]`), then one hidden
//! block with a dispatch fn per route, the static route table, the
//! `SocketRouter` impl, the inventory registration, and spanned type checks.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::model::router::{Handler, Output, Router};
use crate::model::type_name;
use crate::paths::Paths;

/// Expands a validated router.
pub(crate) fn expand(paths: &Paths, router: &Router) -> TokenStream {
    let p = paths.private();
    let self_ty = &router.self_ty;

    // The bound tuple: the router, then each distinct message guard.
    let mut guard_types: Vec<&syn::Path> = Vec::new();
    for handler in &router.handlers {
        for guard in &handler.guards {
            if !guard_types.iter().any(|g| type_name_of_path(g) == type_name_of_path(guard)) {
                guard_types.push(guard);
            }
        }
    }
    let bound_items = std::iter::once(quote!(__ori::Arc<#self_ty>))
        .chain(guard_types.iter().map(|g| quote!(__ori::Arc<#g>)));
    let guard_index = |guard: &syn::Path| {
        1 + guard_types
            .iter()
            .position(|g| type_name_of_path(g) == type_name_of_path(guard))
            .expect("collected above")
    };

    let dispatch_fns = router.handlers.iter().map(|h| dispatch_fn(h, &guard_index));
    let schema_fns = router.handlers.iter().map(schema_fns);
    let table = router.handlers.iter().map(route_def);
    let router_impl = socket_router_impl(router, &guard_types);
    let checks = checks(router);

    quote! {
        #[doc(hidden)]
        #[allow(non_snake_case, non_upper_case_globals, dead_code, clippy::all)]
        const _: () = {
            use #p as __ori;

            type __OriBound = (#(#bound_items,)*);

            #(#dispatch_fns)*

            #(#schema_fns)*

            static __ORI_ROUTES: &[__ori::RouteDef<__OriBound>] = &[#(#table),*];

            #router_impl

            __ori::inventory::submit! { __ori::RouterRegistration::of::<#self_ty>() }

            #checks
        };
    }
}

/// `impl SocketRouter`: metadata, dependencies, and `bind`, which resolves
/// the router and its message guards into the bound tuple of the table.
fn socket_router_impl(router: &Router, guard_types: &[&syn::Path]) -> TokenStream {
    let self_ty = &router.self_ty;
    let name = &router.name;
    let bind_items = std::iter::once(quote!(__ori_resolver.provider::<#self_ty>()))
        .chain(guard_types.iter().map(|g| quote!(__ori_resolver.provider::<#g>())));
    let guard_refs = router.guards.iter().map(|g| quote_spanned!(g.span()=> __ori::guard_ref::<#g>()));
    let message_guard_deps = guard_types.iter().map(|g| quote!(__ori::Dep::of::<#g>()));
    let connection_guard_deps = router.guards.iter().map(|g| quote!(__ori::Dep::of::<#g>()));
    let layer_deps = router.layers.iter().map(|l| quote!(__ori::Dep::of::<#l>()));
    let guard_scope = router.router_scoped.then(|| {
        quote!(
            const GUARD_SCOPE: __ori::GuardScope = __ori::GuardScope::Router;
        )
    });
    // Innermost first, so the first layer written sees a message first.
    let layers = router.layers.iter().rev().map(|l| {
        quote_spanned! {l.span()=>
            let __ori_routes = __ori::layer_routes::<#l>(__ori_routes, __ori_resolver.provider::<#l>());
        }
    });
    quote! {
        #[automatically_derived]
        impl __ori::SocketRouter for #self_ty {
            const NAME: &'static str = #name;
            const MODULE: &'static str = ::core::module_path!();
            #guard_scope

            fn routes() -> __ori::Vec<__ori::RouteInfo> {
                __ori::Iterator::collect(__ori::Iterator::map(__ORI_ROUTES.iter(), |route| route.info))
            }

            fn connection_guards() -> __ori::Vec<__ori::GuardRef> {
                __ori::From::from([#(#guard_refs),*])
            }

            fn dependencies() -> __ori::Vec<__ori::Dep> {
                __ori::From::from([
                    __ori::Dep::of::<#self_ty>(),
                    #(#message_guard_deps,)*
                    #(#connection_guard_deps,)*
                    #(#layer_deps,)*
                ])
            }

            fn bind(__ori_resolver: &__ori::Resolver<'_>) -> __ori::SocketRoutes {
                let __ori_routes = __ori::routes_from_table(#name, (#(#bind_items,)*), __ORI_ROUTES);
                #(#layers)*
                __ori_routes
            }
        }
    }
}

fn type_name_of_path(path: &syn::Path) -> String {
    quote!(#path).to_string()
}

fn dispatch_fn_name(handler: &Handler) -> syn::Ident {
    format_ident!("__ori_dispatch_{}", handler.method)
}

/// One monomorphic dispatch function: decode `data` into the argument's type,
/// make the typed context, then (in the future) run message guards, call the
/// handler and turn its return value into a reply.
fn dispatch_fn(handler: &Handler, guard_index: &impl Fn(&syn::Path) -> usize) -> TokenStream {
    let fn_name = dispatch_fn_name(handler);
    let method = &handler.method;
    let decode = handler.data.as_ref().map(|ty| {
        let decode = quote_spanned!(ty.span()=> __ori::decode_handler_data::<#ty>(__ori_type, __ori_data));
        quote! { let __ori_value = #decode?; }
    });
    let (make_ctx, socket_ref) = match &handler.ctx {
        Some(ctx) => {
            let state = &ctx.state;
            (
                quote! { let __ori_ctx = __ori::SocketContext::<#state>::from_socket(__ori_socket)?; },
                quote!(__ori_ctx.socket()),
            )
        }
        None => (quote!(), quote!(&__ori_socket)),
    };
    let guard_clones = handler.guards.iter().enumerate().map(|(i, guard)| {
        let local = format_ident!("__ori_guard_{}", i);
        let index = syn::Index::from(guard_index(guard));
        quote! { let #local = __ori::Clone::clone(&__ori_bound.#index); }
    });
    let guard_checks = handler.guards.iter().enumerate().map(|(i, guard)| {
        let local = format_ident!("__ori_guard_{}", i);
        quote_spanned! {guard.span()=>
            if let __ori::Err(__ori_reject) = __ori::run_message_guard::<#guard>(&*#local, #socket_ref, __ori_type).await {
                return __ori::Reply::Error(__ori::guard_refusal(__ori_type, &__ori_reject));
            }
        }
    });
    let args = handler
        .ctx
        .as_ref()
        .map(|_| quote!(__ori_ctx))
        .into_iter()
        .chain(handler.data.as_ref().map(|_| quote!(__ori_value)));
    let call = quote_spanned!(handler.span()=> __ori_router.#method(#(#args),*).await);
    // Each conversion goes through a trait whose `on_unimplemented` explains
    // the fix, spanned on the type the user wrote.
    let reply = match &handler.output {
        Output::Unit => quote! { #call; __ori::Reply::Unit },
        Output::Result { ok: Some(ok), err: Some(err), .. } => {
            let ok_reply = quote_spanned!(ok.span()=> __ori::reply_value::<#ok>(__ori_type, &__ori_ok));
            let err_reply = quote_spanned!(err.span()=> __ori::reply_error::<#err>(__ori_err));
            quote! {
                match #call {
                    __ori::Ok(__ori_ok) => #ok_reply,
                    __ori::Err(__ori_err) => #err_reply,
                }
            }
        }
        Output::Result { full, .. } => {
            let into_reply = quote_spanned!(full.span()=> __ori::reply_any::<#full>(__ori_type, __ori_out));
            quote! { let __ori_out = #call; #into_reply }
        }
        Output::Value(ty) => {
            let value_reply = quote_spanned!(ty.span()=> __ori::reply_value::<#ty>(__ori_type, &__ori_out));
            quote! { let __ori_out = #call; #value_reply }
        }
    };
    let boxed = quote_spanned! {handler.span()=>
        __ori::Box::pin(async move {
            #(#guard_checks)*
            #reply
        })
    };
    quote! {
        fn #fn_name(
            __ori_bound: &__OriBound,
            __ori_socket: __ori::Socket,
            __ori_type: &'static str,
            __ori_data: &__ori::RawValue,
        ) -> __ori::Result<__ori::HandlerFuture, __ori::SocketError> {
            #decode
            #make_ctx
            let __ori_router = __ori::Clone::clone(&__ori_bound.0);
            #(#guard_clones)*
            __ori::Ok(#boxed)
        }
    }
}

/// The route's schema functions, as its table entry names them: its own two
/// (see [`schema_fns`]), or the shared `no_schema` without the feature `schema`.
fn schema_fn_names(handler: &Handler) -> (TokenStream, TokenStream) {
    if !cfg!(feature = "schema") {
        return (quote!(__ori::no_schema), quote!(__ori::no_schema));
    }
    let data = format_ident!("__ori_data_schema_{}", handler.method);
    let reply = format_ident!("__ori_reply_schema_{}", handler.method);
    (quote!(#data), quote!(#reply))
}

/// The route's two schema functions: the JSON Schema of `data` and of the
/// reply, each `None` where the type does not implement `schemars::JsonSchema`:
/// `ViaJsonSchema` is found first when it applies (the receiver needs no
/// auto-reference), `ViaNothing` otherwise. Nothing when the feature `schema`
/// is off (the route points at `no_schema`).
fn schema_fns(handler: &Handler) -> TokenStream {
    if !cfg!(feature = "schema") {
        return TokenStream::new();
    }
    let (data_fn, reply_fn) = schema_fn_names(handler);
    let unit: syn::Type = syn::parse_quote!(());
    let data = handler.data.as_ref().unwrap_or(&unit);
    let reply = match &handler.output {
        Output::Unit => Some(&unit),
        Output::Result { ok, .. } => ok.as_deref(),
        Output::Value(ty) => Some(&**ty),
    };
    let schema_of = |ty: Option<&syn::Type>| match ty {
        Some(ty) => quote! {
            #[allow(unused_imports)]
            use __ori::{ViaJsonSchema as _, ViaNothing as _};
            (&__ori::SchemaOf::<#ty>::NEW).schema(__ori_set)
        },
        None => quote! { let _ = __ori_set; __ori::None },
    };
    let (data_schema, reply_schema) = (schema_of(Some(data)), schema_of(reply));
    quote! {
        fn #data_fn(__ori_set: &mut __ori::SchemaSet) -> __ori::Option<__ori::serde_json::Value> {
            #data_schema
        }
        fn #reply_fn(__ori_set: &mut __ori::SchemaSet) -> __ori::Option<__ori::serde_json::Value> {
            #reply_schema
        }
    }
}

/// The route's entry in the static table.
fn route_def(handler: &Handler) -> TokenStream {
    let fn_name = dispatch_fn_name(handler);
    let message_type = &handler.message_type;
    let state = handler.ctx.as_ref().map_or_else(
        || quote!(()),
        |ctx| {
            let state = &ctx.state;
            quote!(#state)
        },
    );
    let handler_name = handler.method.to_string();
    let request = handler.data.as_ref().map_or_else(|| "()".to_owned(), type_name);
    let reply = handler.reply_type_name();
    let guards = handler.guards.iter().map(|g| type_name_of_path(g).replace(' ', ""));
    let errors = &handler.errors;
    let timeout = match handler.timeout_ms {
        Some(ms) => quote!(__ori::Option::Some(__ori::Duration::from_millis(#ms))),
        None => quote!(__ori::Option::None),
    };
    let doc = &handler.docs;
    let (data_fn, reply_fn) = schema_fn_names(handler);
    quote! {
        __ori::RouteDef {
            message_type: #message_type,
            dispatch: #fn_name,
            state: __ori::StateKey::of::<#state>,
            info: __ori::RouteInfo {
                message_type: #message_type,
                handler: #handler_name,
                request: #request,
                reply: #reply,
                guards: &[#(#guards),*],
                errors: &[#(#errors),*],
                timeout: #timeout,
                doc: #doc,
                data_schema: #data_fn,
                reply_schema: #reply_fn,
            },
        }
    }
}

/// Checks that no generated use covers, each spanned on the token the user
/// must change, so rustc's error (with ori's notes) points there.
fn checks(router: &Router) -> TokenStream {
    let mut checks = Vec::new();
    let self_ty = &router.self_ty;
    checks.push(quote_spanned!(self_ty.span()=> __ori::check_router_injectable::<#self_ty>();));
    let unit_state = |ty: &syn::Type| matches!(ty, syn::Type::Tuple(t) if t.elems.is_empty());
    for handler in &router.handlers {
        if let (Some(ctx), [guard]) = (&handler.ctx, router.guards.as_slice())
            && !unit_state(&ctx.state)
        {
            let state = &ctx.state;
            checks.push(quote_spanned! {state.span()=>
                __ori::check_state::<#state, <#guard as __ori::ConnectionGuard>::State>();
            });
        }
    }
    quote! {
        fn __ori_checks() {
            #(#checks)*
        }
    }
}
