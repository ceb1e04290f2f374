//! The model of `#[derive(SocketMessage)]`: the type and its message type.

use syn::{DeriveInput, LitStr};

use super::check_message_type;
use crate::ctxt::Ctxt;
use crate::parse::message::MessageArgs;

/// A type with a fixed message type, for typed pushes.
pub(crate) struct Message {
    pub(crate) input: DeriveInput,
    pub(crate) message_type: LitStr,
    pub(crate) krate: Option<syn::Path>,
}

/// Reads the `#[message(..)]` attributes (there may be several, each key once).
pub(crate) fn message(cx: &Ctxt, input: DeriveInput) -> Option<Message> {
    let mut args = MessageArgs::default();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("message")) {
        match attr.parse_args::<MessageArgs>() {
            Ok(parsed) => {
                if let Some(ty) = parsed.message_type {
                    if args.message_type.is_some() {
                        cx.error_spanned_by(&ty, "`type` specified more than once");
                    }
                    args.message_type = Some(ty);
                }
                args.krate = parsed.krate.or(args.krate);
            }
            Err(e) => cx.push(e),
        }
    }
    let Some(message_type) = args.message_type else {
        let name = &input.ident;
        cx.error_spanned_by(
            name,
            format!("`#[derive(SocketMessage)]` needs the message type: add `#[message(type = \"...\")]` to `{name}`"),
        );
        return None;
    };
    check_message_type(cx, &message_type);
    Some(Message { input, message_type, krate: args.krate })
}
