//! `#[injectable(crate = path)]` and the field attribute `#[inject(default | value)]`.

use syn::parse::{Parse, ParseStream};

use super::args::{parse_pairs, set_once};
use super::kw;

/// The arguments of `#[injectable]` (also `#[connection_guard]`, `#[message_guard]`).
#[derive(Default)]
pub(crate) struct InjectableArgs {
    pub(crate) krate: Option<syn::Path>,
}

impl InjectableArgs {
    pub(crate) fn parser(attribute: &'static str) -> impl Fn(ParseStream<'_>) -> syn::Result<InjectableArgs> {
        move |input| {
            let mut args = InjectableArgs::default();
            parse_pairs(input, attribute, &["crate"], |key, input| {
                if key != "crate" {
                    return Ok(false);
                }
                set_once(&mut args.krate, key, input)?;
                Ok(true)
            })?;
            Ok(args)
        }
    }
}

/// How one field is filled.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldSource {
    /// `Arc<T>` or `AppContext`, from the container (no attribute).
    Dependency,
    /// `#[inject(default)]`: `Default::default()`.
    Default,
    /// `#[inject(value)]`: a clone of the provided `T`.
    Value,
}

impl Parse for FieldSource {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let lookahead = input.lookahead1();
        if lookahead.peek(kw::default) {
            input.parse::<kw::default>()?;
            Ok(FieldSource::Default)
        } else if lookahead.peek(kw::value) {
            input.parse::<kw::value>()?;
            Ok(FieldSource::Value)
        } else {
            Err(lookahead.error())
        }
    }
}
