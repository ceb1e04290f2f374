//! `#[derive(SocketMessage)]`: `impl SocketMessage` with the message type as `TYPE`.

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::message::Message;
use crate::paths::Paths;

/// Expands a validated message.
pub(crate) fn expand(message: &Message) -> TokenStream {
    let p = Paths::new(message.krate.clone()).private();
    let name = &message.input.ident;
    let message_type = &message.message_type;
    let (impl_generics, ty_generics, where_clause) = message.input.generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics #p::SocketMessage for #name #ty_generics #where_clause {
            const TYPE: &'static str = #message_type;
        }
    }
}
