//! `#[on("type", guard = G, errors = ["code", ...], timeout = "5s")]`.

use syn::parse::{Parse, ParseStream};
use syn::{LitStr, Token};

use super::args::{parse_pairs, parse_timeout};

/// The arguments of `#[on]`.
pub(crate) struct OnArgs {
    pub(crate) message_type: LitStr,
    /// Message guards, in order.
    pub(crate) guards: Vec<syn::Path>,
    /// The error codes the handler itself may answer, as declared.
    pub(crate) errors: Vec<LitStr>,
    /// `timeout = "5s"`, in milliseconds.
    pub(crate) timeout_ms: Option<u64>,
}

impl Parse for OnArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let message_type: LitStr = input.parse().map_err(|e| {
            syn::Error::new(e.span(), "expected the message type first, e.g. `#[on(\"presence.heartbeat\")]`")
        })?;
        let mut guards = Vec::new();
        let mut errors: Option<Vec<LitStr>> = None;
        let mut timeout_ms = None;
        if !input.is_empty() {
            input.parse::<Token![,]>()?;
            parse_pairs(input, "on", &["guard", "errors", "timeout"], |key, input| {
                if key == "guard" {
                    guards.push(input.parse()?);
                } else if key == "timeout" {
                    if timeout_ms.is_some() {
                        return Err(syn::Error::new(key.span(), "`timeout` specified more than once"));
                    }
                    timeout_ms = Some(parse_timeout(input)?);
                } else if key == "errors" {
                    if errors.is_some() {
                        return Err(syn::Error::new(key.span(), "`errors` specified more than once"));
                    }
                    errors = Some(parse_error_codes(input)?);
                } else {
                    return Ok(false);
                }
                Ok(true)
            })?;
        }
        Ok(OnArgs { message_type, guards, errors: errors.unwrap_or_default(), timeout_ms })
    }
}

/// `["not_found", "room_full"]`: distinct, non-empty string literals.
fn parse_error_codes(input: ParseStream<'_>) -> syn::Result<Vec<LitStr>> {
    let expected = "expected a list of error codes, e.g. `errors = [\"not_found\"]`";
    if !input.peek(syn::token::Bracket) {
        return Err(input.error(expected));
    }
    let content;
    syn::bracketed!(content in input);
    let codes = content
        .parse_terminated(|input: ParseStream<'_>| input.parse::<LitStr>(), Token![,])
        .map_err(|e| syn::Error::new(e.span(), expected))?;
    let mut seen = Vec::<String>::new();
    for code in &codes {
        let value = code.value();
        if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(syn::Error::new(
                code.span(),
                "an error code is a non-empty word without spaces, e.g. \"not_found\"",
            ));
        }
        if seen.contains(&value) {
            return Err(syn::Error::new(code.span(), format!("error code \"{value}\" is listed twice")));
        }
        seen.push(value);
    }
    Ok(codes.into_iter().collect())
}
