//! The `key = value, ...` grammar shared by ori's attributes.

use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::{Ident, Token};

/// Reads `key = value` pairs with `on_key` until the input ends; `on_key`
/// returns `false` for an unknown key. Reports unknown keys with the list of
/// known ones: "unknown `#[on]` argument `ak`, expected one of: `guard`".
pub(crate) fn parse_pairs(
    input: ParseStream<'_>,
    attribute: &str,
    known: &[&str],
    mut on_key: impl FnMut(&Ident, ParseStream<'_>) -> syn::Result<bool>,
) -> syn::Result<()> {
    while !input.is_empty() {
        let key = input.call(Ident::parse_any)?;
        input.parse::<Token![=]>().map_err(|_| {
            syn::Error::new(key.span(), format!("expected `{key} = ...` in `#[{attribute}]`"))
        })?;
        if !on_key(&key, input)? {
            let expected = known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
            return Err(syn::Error::new(
                key.span(),
                format!("unknown `#[{attribute}]` argument `{key}`, expected one of: {expected}"),
            ));
        }
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(())
}

/// A timeout written as a string: `"250ms"`, `"5s"` or `"2m"`; in
/// milliseconds, more than 0.
pub(crate) fn parse_timeout(input: ParseStream<'_>) -> syn::Result<u64> {
    let expected = "expected a timeout such as \"5s\", \"250ms\" or \"2m\"";
    let literal: syn::LitStr = input.parse().map_err(|e| syn::Error::new(e.span(), expected))?;
    let text = literal.value();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        _ => return Err(syn::Error::new(literal.span(), expected)),
    };
    match number.parse::<u64>().ok().and_then(|n| n.checked_mul(scale)) {
        Some(0) => Err(syn::Error::new(literal.span(), "a timeout must be more than 0")),
        Some(ms) => Ok(ms),
        None => Err(syn::Error::new(literal.span(), expected)),
    }
}

/// Parses the value of `key` into `slot`; a key given twice is an error
/// spanned on the second.
pub(crate) fn set_once<T: syn::parse::Parse>(
    slot: &mut Option<T>,
    key: &Ident,
    input: ParseStream<'_>,
) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(key.span(), format!("`{key}` specified more than once")));
    }
    *slot = Some(input.parse()?);
    Ok(())
}
