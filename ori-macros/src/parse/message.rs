//! `#[message(type = "...", crate = path)]` on `#[derive(SocketMessage)]`.

use syn::LitStr;
use syn::parse::{Parse, ParseStream};

use super::args::{parse_pairs, set_once};

/// The arguments of `#[message]`.
#[derive(Default)]
pub(crate) struct MessageArgs {
    pub(crate) message_type: Option<LitStr>,
    pub(crate) krate: Option<syn::Path>,
}

impl Parse for MessageArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = MessageArgs::default();
        parse_pairs(input, "message", &["type", "crate"], |key, input| {
            match key.to_string().as_str() {
                "type" => set_once(&mut args.message_type, key, input)?,
                "crate" => set_once(&mut args.krate, key, input)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(args)
    }
}
