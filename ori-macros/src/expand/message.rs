//! `#[derive(SocketMessage)]` with `#[message(type = "...")]`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::ctxt::Ctxt;
use crate::model::check_message_type;
use crate::parse::message::MessageArgs;
use crate::paths::Paths;

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(e) => return e.to_compile_error(),
    };
    let cx = Ctxt::new();
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
    let name = &input.ident;
    match &args.message_type {
        None => cx.error_spanned_by(
            name,
            format!("`#[derive(SocketMessage)]` needs the message type: add `#[message(type = \"...\")]` to `{name}`"),
        ),
        Some(ty) => check_message_type(&cx, ty),
    }
    if let Err(errors) = cx.check() {
        return errors.to_compile_error();
    }
    let p = Paths::new(args.krate).private();
    let message_type = args.message_type.expect("checked above");
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics #p::SocketMessage for #name #ty_generics #where_clause {
            const TYPE: &'static str = #message_type;
        }
    }
}
