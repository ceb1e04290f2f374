//! The model of a `#[socket_router]` impl: its type, connection guards, and
//! one [`Handler`] per `#[on]` method.

use std::collections::HashMap;

use syn::{FnArg, ImplItem, ItemImpl, LitStr, ReturnType, Type};

use super::{check_message_type, docs, generic_types, is_on, last_segment, type_name};
use crate::ctxt::Ctxt;
use crate::parse::on::OnArgs;
use crate::parse::router::RouterArgs;

/// A router: the impl's type, its connection guards, its handlers.
pub(crate) struct Router {
    pub(crate) self_ty: Type,
    /// The type's name, e.g. `PresenceRouter`.
    pub(crate) name: String,
    pub(crate) guards: Vec<syn::Path>,
    /// `guard_scope = "router"`: the guards decide access to this router's
    /// routes only, instead of to the connection.
    pub(crate) router_scoped: bool,
    /// `layer = L`s: around every route, outermost first.
    pub(crate) layers: Vec<syn::Path>,
    pub(crate) handlers: Vec<Handler>,
    /// `client = Name`: the typed client stub to generate.
    pub(crate) client: Option<syn::Ident>,
}

/// One `#[on]` method.
pub(crate) struct Handler {
    pub(crate) method: syn::Ident,
    pub(crate) message_type: LitStr,
    pub(crate) guards: Vec<syn::Path>,
    /// The error codes declared with `errors = [...]`.
    pub(crate) errors: Vec<LitStr>,
    /// Its timeout in milliseconds (its own, else the router's).
    pub(crate) timeout_ms: Option<u64>,
    /// The `SocketContext<S>` argument, if any.
    pub(crate) ctx: Option<Context>,
    /// The `data` argument's type, if any.
    pub(crate) data: Option<Type>,
    pub(crate) output: Output,
    pub(crate) docs: String,
}

/// A handler's `SocketContext<S>` argument.
pub(crate) struct Context {
    /// `S` (`()` when written `SocketContext`).
    pub(crate) state: Type,
}

/// What a handler returns.
pub(crate) enum Output {
    /// `()` or nothing: an acknowledgement when the request has a correlationId.
    Unit,
    /// `Result<T, E>` (or an alias ending in `Result`): `Ok` data, `Err` error envelope.
    Result { full: Box<Type>, ok: Option<Box<Type>>, err: Option<Box<Type>> },
    /// Any other type: always replied as `data`.
    Value(Box<Type>),
}

/// Reads the impl (removing the `#[on]` attributes it consumes) into a model.
pub(crate) fn router(cx: &Ctxt, args: RouterArgs, item: &mut ItemImpl) -> Option<Router> {
    if let Some((_, path, _)) = &item.trait_ {
        cx.error_spanned_by(
            path,
            "`#[socket_router]` goes on an inherent impl, e.g. `impl PresenceRouter { ... }`",
        );
    }
    if !item.generics.params.is_empty() {
        cx.error_spanned_by(&item.generics, "`#[socket_router]` impls cannot be generic");
    }
    let name = match last_segment(&item.self_ty) {
        Some(segment) if segment.arguments.is_empty() => segment.ident.to_string(),
        _ => {
            cx.error_spanned_by(
                &item.self_ty,
                "`#[socket_router]` needs a plain type name, e.g. `impl PresenceRouter`",
            );
            String::new()
        }
    };

    let router_args_timeout = args.timeout_ms;
    let mut handlers = Vec::new();
    let mut seen: HashMap<String, LitStr> = HashMap::new();
    let mut routes = 0;
    for impl_item in &mut item.items {
        let attrs = match impl_item {
            ImplItem::Fn(f) => &mut f.attrs,
            ImplItem::Const(c) => &mut c.attrs,
            ImplItem::Type(t) => &mut t.attrs,
            ImplItem::Macro(m) => &mut m.attrs,
            _ => continue,
        };
        let on_attrs: Vec<syn::Attribute> = attrs.iter().filter(|a| is_on(a)).cloned().collect();
        attrs.retain(|a| !is_on(a));
        let Some(first) = on_attrs.first() else { continue };
        routes += 1;
        for extra in &on_attrs[1..] {
            cx.error_spanned_by(extra, "a method takes one `#[on]`; give each message type its own handler");
        }
        let ImplItem::Fn(method) = impl_item else {
            cx.error_spanned_by(first, "`#[on]` goes on an `async fn` of the impl");
            continue;
        };
        let args = match first.parse_args::<OnArgs>() {
            Ok(args) => args,
            Err(e) => {
                cx.push(e);
                continue;
            }
        };
        check_message_type(cx, &args.message_type);
        if let Some(earlier) = seen.get(&args.message_type.value()) {
            let mut error = syn::Error::new(
                args.message_type.span(),
                format!("duplicate message type `{}` in this router", args.message_type.value()),
            );
            error.combine(syn::Error::new(earlier.span(), "first defined here"));
            cx.push(error);
        } else {
            seen.insert(args.message_type.value(), args.message_type.clone());
        }
        if let Some(mut handler) = handler(cx, method, args) {
            handler.timeout_ms = handler.timeout_ms.or(router_args_timeout);
            handlers.push(handler);
        }
    }
    if let Some(client) = &args.client {
        check_stub_names(cx, client, &handlers);
    }
    if routes == 0 {
        cx.error_spanned_by(&item.self_ty, "this `#[socket_router]` has no `#[on(\"type\")]` handler");
    }
    let router_scoped = guard_scope(cx, &args);
    Some(Router {
        self_ty: (*item.self_ty).clone(),
        name,
        router_scoped,
        guards: args.guards,
        layers: args.layers,
        handlers,
        client: args.client,
    })
}

/// Whether `guard_scope = "router"` was written: the scope must be
/// `"connection"` or `"router"`, and there must be guards for it to scope.
fn guard_scope(cx: &Ctxt, args: &RouterArgs) -> bool {
    let Some(scope) = &args.guard_scope else { return false };
    let router = match scope.value().as_str() {
        "router" => true,
        "connection" => false,
        _ => {
            cx.error_spanned_by(
                scope,
                "`guard_scope` is \"connection\" (every connection must pass the guards; the default) \
                 or \"router\" (the guards decide access to this router's routes only)",
            );
            return false;
        }
    };
    if args.guards.is_empty() {
        cx.error_spanned_by(
            scope,
            "`guard_scope` applies to this router's connection guards, and it has none: \
             add `guard = YourGuard`, or remove `guard_scope`",
        );
    }
    router
}

/// The typed client stub has `new`, `connect` and `client` of its own; a
/// handler of the same name would collide with them inside generated code.
fn check_stub_names(cx: &Ctxt, client: &syn::Ident, handlers: &[Handler]) {
    for handler in handlers {
        let method = handler.method.to_string();
        if STUB_METHODS.contains(&method.as_str()) {
            cx.error_spanned_by(
                &handler.method,
                format!(
                    "the handler `{method}` collides with `{client}::{method}`, which the client stub \
                     `{client}` defines; rename the method (its message type stays `{}`)",
                    handler.message_type.value()
                ),
            );
        }
    }
}

/// The methods every client stub defines besides the handlers'.
pub(crate) const STUB_METHODS: [&str; 3] = ["new", "connect", "client"];

fn handler(cx: &Ctxt, method: &syn::ImplItemFn, args: OnArgs) -> Option<Handler> {
    let sig = &method.sig;
    let mut ok = true;
    if sig.asyncness.is_none() {
        cx.error_spanned_by(sig.fn_token, "`#[on]` handlers must be `async fn`");
        ok = false;
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        cx.error_spanned_by(&sig.generics, "`#[on]` handlers cannot be generic");
        ok = false;
    }
    let mut inputs = sig.inputs.iter();
    match inputs.next() {
        Some(FnArg::Receiver(receiver)) => {
            if let Some(mutability) = receiver.mutability.filter(|_| receiver.reference.is_some()) {
                cx.error_spanned_by(
                    mutability,
                    "`#[on]` handlers take `&self`, not `&mut self`: one router serves every connection \
                     at once; keep mutable state behind a `Mutex` or in a provider",
                );
                ok = false;
            } else if receiver.reference.is_none() {
                cx.error_spanned_by(receiver, "`#[on]` handlers take `&self`");
                ok = false;
            }
        }
        _ => {
            cx.error_spanned_by(&sig.ident, "`#[on]` handlers take `&self` as their first argument");
            ok = false;
            inputs = sig.inputs.iter();
        }
    }
    let mut ctx = None;
    let mut data = None;
    for (position, input) in inputs.enumerate() {
        let FnArg::Typed(arg) = input else { continue };
        let ty = (*arg.ty).clone();
        let is_context = last_segment(&ty).is_some_and(|s| s.ident == "SocketContext");
        if is_context && position == 0 {
            let state = last_segment(&ty)
                .and_then(|s| generic_types(s).into_iter().next())
                .unwrap_or_else(|| syn::parse_quote!(()));
            ctx = Some(Context { state });
        } else if is_context {
            cx.error_spanned_by(&arg.ty, "`SocketContext` must be the first argument after `&self`");
            ok = false;
        } else if data.is_none() {
            data = Some(ty);
        } else {
            cx.error_spanned_by(
                arg,
                "too many arguments: a handler takes `&self`, an optional `SocketContext<S>`, \
                 and an optional `data` argument",
            );
            ok = false;
        }
    }
    let output = match &sig.output {
        ReturnType::Default => Output::Unit,
        ReturnType::Type(_, ty) => match &**ty {
            Type::Tuple(tuple) if tuple.elems.is_empty() => Output::Unit,
            ty => match last_segment(ty) {
                Some(segment) if segment.ident == "Result" => {
                    let mut types = generic_types(segment).into_iter();
                    Output::Result {
                        full: Box::new(ty.clone()),
                        ok: types.next().map(Box::new),
                        err: types.next().map(Box::new),
                    }
                }
                _ => Output::Value(Box::new(ty.clone())),
            },
        },
    };
    ok.then(|| Handler {
        method: sig.ident.clone(),
        message_type: args.message_type,
        guards: args.guards,
        errors: args.errors,
        timeout_ms: args.timeout_ms,
        ctx,
        data,
        output,
        docs: docs(&method.attrs),
    })
}

impl Handler {
    pub(crate) fn span(&self) -> proc_macro2::Span {
        self.method.span()
    }

    pub(crate) fn reply_type_name(&self) -> String {
        match &self.output {
            Output::Unit => "()".to_owned(),
            Output::Result { full, .. } => type_name(full),
            Output::Value(ty) => type_name(ty),
        }
    }
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::*;

    fn model(item: syn::ItemImpl) -> Result<Router, String> {
        let cx = Ctxt::new();
        let mut item = item;
        let router = router(&cx, RouterArgs::default(), &mut item);
        cx.check().map_err(|e| e.to_string())?;
        Ok(router.expect("no errors"))
    }

    #[test]
    fn classifies_arguments_and_outputs() {
        let router = model(parse_quote! {
            impl Presence {
                /// Beats.
                #[on("a.b")]
                async fn beat(&self, ctx: SocketContext<Auth>, data: Heartbeat) -> Result<Ack, SocketError> {}
                #[on("a.c")]
                async fn plain(&self, data: Vec<u8>) -> usize {}
                #[on("a.d")]
                async fn unit(&self, ctx: ori::SocketContext) {}
                fn helper(&self) {}
            }
        })
        .unwrap();
        assert_eq!(router.name, "Presence");
        let [beat, plain, unit] = &router.handlers[..] else { panic!() };
        assert_eq!(beat.docs, "Beats.");
        assert_eq!(type_name(&beat.ctx.as_ref().unwrap().state), "Auth");
        assert!(matches!(&beat.output, Output::Result { ok: Some(_), err: Some(_), .. }));
        assert!(plain.ctx.is_none());
        assert_eq!(type_name(plain.data.as_ref().unwrap()), "Vec<u8>");
        assert!(matches!(plain.output, Output::Value(_)));
        assert_eq!(type_name(&unit.ctx.as_ref().unwrap().state), "()");
        assert!(matches!(unit.output, Output::Unit));
    }

    #[test]
    fn collects_every_error() {
        let Err(errors) = model(parse_quote! {
            impl Presence {
                #[on("ping")]
                async fn a(&self) {}
            }
        }) else {
            panic!("a reserved type is an error")
        };
        assert!(errors.contains("reserved"), "{errors}");
        let cx = Ctxt::new();
        let mut item: syn::ItemImpl = parse_quote! {
            impl Presence {
                #[on("ping")] async fn a(&self) {}
                #[on("x")] fn b(&self) {}
                #[on("x")] async fn c(self) {}
            }
        };
        router(&cx, RouterArgs::default(), &mut item);
        let combined = cx.check().unwrap_err();
        assert_eq!(
            combined.into_iter().count(),
            5,
            "reserved, not async, duplicate (+ first), by-value self"
        );
    }
}
