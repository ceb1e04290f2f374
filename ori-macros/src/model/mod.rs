//! The validated models the expansion reads, one per macro. Building a model
//! checks every rule that needs no type information and records each
//! violation in the [`Ctxt`](crate::ctxt::Ctxt), spanned on the offending
//! token; `expand/` then only emits tokens.

pub(crate) mod injectable;
pub(crate) mod message;
pub(crate) mod router;

use quote::ToTokens;
use syn::{LitStr, PathArguments, Type};

use crate::ctxt::Ctxt;
use crate::names::validate_handler_type;

/// The last segment of a path type, e.g. `SocketContext` for `ori::SocketContext<S>`.
fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last(),
        _ => None,
    }
}

fn generic_types(segment: &syn::PathSegment) -> Vec<Type> {
    match &segment.arguments {
        PathArguments::AngleBracketed(args) => args
            .args
            .iter()
            .filter_map(|a| match a {
                syn::GenericArgument::Type(ty) => Some(ty.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn is_on(attr: &syn::Attribute) -> bool {
    attr.path().segments.last().is_some_and(|s| s.ident == "on")
}

/// The doc comment of an item, one line per `///` line.
pub(crate) fn docs(attrs: &[syn::Attribute]) -> String {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => {
                    Some(s.value().trim().to_owned())
                }
                _ => None,
            },
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks a message type literal against the protocol's rules.
pub(crate) fn check_message_type(cx: &Ctxt, lit: &LitStr) {
    let value = lit.value();
    if let Err(reason) = validate_handler_type(&value) {
        cx.error_spanned_by(
            lit,
            format!("invalid message type `{value}`: a message type {}", reason.explain()),
        );
    }
}

/// A type as the user wrote it, for metadata (`Vec<u8>`, not `Vec < u8 >`).
pub(crate) fn type_name(ty: &Type) -> String {
    let mut text = ty.to_token_stream().to_string();
    for (from, to) in [
        (" < ", "<"),
        ("< ", "<"),
        (" <", "<"),
        (" >", ">"),
        (" :: ", "::"),
        (":: ", "::"),
        (" ,", ","),
        ("& ", "&"),
    ] {
        text = text.replace(from, to);
    }
    text
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::*;

    #[test]
    fn type_names_read_like_source() {
        let ty: Type = parse_quote!(std::result::Result<Vec<(u8, String)>, my::Error>);
        assert_eq!(type_name(&ty), "std::result::Result<Vec<(u8, String)>, my::Error>");
        let ty: Type = parse_quote!(&'static str);
        assert_eq!(type_name(&ty), "&'static str");
    }
}
