//! The model of `#[injectable]`, `#[connection_guard]` and `#[message_guard]`:
//! the struct (with its `#[inject]` attributes consumed) and how each field is
//! filled.

use syn::{Item, ItemStruct};

use crate::ctxt::Ctxt;
use crate::parse::injectable::{FieldSource, InjectableArgs};

/// Which attribute is expanding.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Injectable,
    ConnectionGuard,
    MessageGuard,
}

impl Kind {
    pub(crate) fn attribute(self) -> &'static str {
        match self {
            Kind::Injectable => "injectable",
            Kind::ConnectionGuard => "connection_guard",
            Kind::MessageGuard => "message_guard",
        }
    }
}

/// A struct the container builds.
pub(crate) struct Injectable {
    pub(crate) kind: Kind,
    /// The struct as the user wrote it, minus `#[inject]`.
    pub(crate) strukt: ItemStruct,
    /// One per field, in order.
    pub(crate) sources: Vec<FieldSource>,
    pub(crate) krate: Option<syn::Path>,
}

/// Reads the item; `None` when it is not a struct (the error is recorded).
pub(crate) fn injectable(cx: &Ctxt, kind: Kind, args: InjectableArgs, item: Item) -> Option<Injectable> {
    let attribute = kind.attribute();
    let mut strukt = match item {
        Item::Struct(strukt) => strukt,
        Item::Enum(e) => {
            cx.error_spanned_by(
                e.enum_token,
                format!("`#[{attribute}]` goes on a struct (whose fields are its dependencies), not an enum"),
            );
            return None;
        }
        other => {
            cx.error_spanned_by(other, format!("`#[{attribute}]` goes on a struct"));
            return None;
        }
    };
    if !strukt.generics.params.is_empty() {
        cx.error_spanned_by(&strukt.generics, format!("`#[{attribute}]` types cannot be generic"));
    }
    let mut sources = Vec::new();
    for field in strukt.fields.iter_mut() {
        let mut source = FieldSource::Dependency;
        let mut seen = false;
        for attr in field.attrs.iter().filter(|a| a.path().is_ident("inject")) {
            if seen {
                cx.error_spanned_by(attr, "a field takes one `#[inject(..)]`");
            }
            seen = true;
            match attr.parse_args::<FieldSource>() {
                Ok(s) => source = s,
                Err(e) => {
                    cx.push(syn::Error::new(e.span(), "expected `#[inject(default)]` or `#[inject(value)]`"))
                }
            }
        }
        field.attrs.retain(|a| !a.path().is_ident("inject"));
        sources.push(source);
    }
    Some(Injectable { kind, strukt, sources, krate: args.krate })
}
