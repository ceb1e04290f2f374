//! `#[message(type = "...", crate = path)]` on `#[derive(SocketMessage)]`.

use syn::LitStr;
use syn::parse::{Parse, ParseStream};

use super::args::{duplicate, parse_pairs};

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
                "type" if args.message_type.is_some() => return Err(duplicate(key)),
                "type" => args.message_type = Some(input.parse()?),
                "crate" if args.krate.is_some() => return Err(duplicate(key)),
                "crate" => args.krate = Some(input.parse()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(args)
    }
}
