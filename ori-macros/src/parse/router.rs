//! `#[socket_router(guard = G, guard_scope = "router", layer = L, client = Name, timeout = "5s", crate = path)]`.

use syn::parse::{Parse, ParseStream};

use super::args::{parse_pairs, parse_timeout, set_once};

/// The arguments of `#[socket_router]`.
#[derive(Default)]
pub(crate) struct RouterArgs {
    /// Connection guards, in order.
    pub(crate) guards: Vec<syn::Path>,
    /// `guard_scope = "connection" | "router"`, as written.
    pub(crate) guard_scope: Option<syn::LitStr>,
    /// Layers around every route, outermost first.
    pub(crate) layers: Vec<syn::Path>,
    /// The name of the typed client stub to generate, if any.
    pub(crate) client: Option<syn::Ident>,
    /// The timeout of every route without its own, in milliseconds.
    pub(crate) timeout_ms: Option<u64>,
    pub(crate) krate: Option<syn::Path>,
}

impl Parse for RouterArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = RouterArgs::default();
        parse_pairs(
            input,
            "socket_router",
            &["guard", "guard_scope", "layer", "client", "timeout", "crate"],
            |key, input| {
                match key.to_string().as_str() {
                    "guard" => args.guards.push(input.parse()?),
                    "guard_scope" => set_once(&mut args.guard_scope, key, input)?,
                    "layer" => args.layers.push(input.parse()?),
                    "client" => set_once(&mut args.client, key, input)?,
                    "timeout" if args.timeout_ms.is_some() => {
                        return Err(syn::Error::new(key.span(), "`timeout` specified more than once"));
                    }
                    "timeout" => args.timeout_ms = Some(parse_timeout(input)?),
                    "crate" => set_once(&mut args.krate, key, input)?,
                    _ => return Ok(false),
                }
                Ok(true)
            },
        )?;
        Ok(args)
    }
}
