//! `#[on("type", guard = G)]`.

use syn::parse::{Parse, ParseStream};
use syn::{LitStr, Token};

use super::args::parse_pairs;

/// The arguments of `#[on]`.
pub(crate) struct OnArgs {
    pub(crate) message_type: LitStr,
    /// Message guards, in order.
    pub(crate) guards: Vec<syn::Path>,
}

impl Parse for OnArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let message_type: LitStr = input.parse().map_err(|e| {
            syn::Error::new(e.span(), "expected the message type first, e.g. `#[on(\"presence.heartbeat\")]`")
        })?;
        let mut guards = Vec::new();
        if !input.is_empty() {
            input.parse::<Token![,]>()?;
            parse_pairs(input, "on", &["guard"], |key, input| {
                if key != "guard" {
                    return Ok(false);
                }
                guards.push(input.parse()?);
                Ok(true)
            })?;
        }
        Ok(OnArgs { message_type, guards })
    }
}
