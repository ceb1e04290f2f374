//! `#[socket_router(guard = G, client = Name, crate = path)]`.

use syn::parse::{Parse, ParseStream};

use super::args::{parse_pairs, set_once};

/// The arguments of `#[socket_router]`.
#[derive(Default)]
pub(crate) struct RouterArgs {
    /// Connection guards, in order.
    pub(crate) guards: Vec<syn::Path>,
    /// The name of the typed client stub to generate, if any.
    pub(crate) client: Option<syn::Ident>,
    pub(crate) krate: Option<syn::Path>,
}

impl Parse for RouterArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = RouterArgs::default();
        parse_pairs(input, "socket_router", &["guard", "client", "crate"], |key, input| {
            match key.to_string().as_str() {
                "guard" => args.guards.push(input.parse()?),
                "client" => set_once(&mut args.client, key, input)?,
                "crate" => set_once(&mut args.krate, key, input)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(args)
    }
}
