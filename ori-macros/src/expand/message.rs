//! `#[derive(SocketMessage)]`: `impl SocketMessage` with the message type as `TYPE`.

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::docs;
use crate::model::message::Message;
use crate::paths::Paths;

/// Expands a validated message.
pub(crate) fn expand(message: &Message) -> TokenStream {
    let p = Paths::new(message.krate.clone()).private();
    let name = &message.input.ident;
    let message_type = &message.message_type;
    let (impl_generics, ty_generics, where_clause) = message.input.generics.split_for_impl();
    let implementation = quote! {
        #[automatically_derived]
        impl #impl_generics #p::SocketMessage for #name #ty_generics #where_clause {
            const TYPE: &'static str = #message_type;
        }
    };
    if !message.input.generics.params.is_empty() {
        // A generic message has no one schema: it is not registered.
        return implementation;
    }
    let rust = name.to_string();
    let doc = docs(&message.input.attrs);
    // Its schema where the type implements `schemars::JsonSchema`
    // (`ViaJsonSchema` is found first); nothing without the feature `schema`.
    let (schema_fn, schema) = if cfg!(feature = "schema") {
        let schema_fn = quote! {
            fn __ori_schema(__ori_set: &mut __ori::SchemaSet) -> __ori::Option<__ori::serde_json::Value> {
                #[allow(unused_imports)]
                use __ori::{ViaJsonSchema as _, ViaNothing as _};
                (&__ori::SchemaOf::<#name>::NEW).schema(__ori_set)
            }
        };
        (schema_fn, quote!(__ori_schema))
    } else {
        (TokenStream::new(), quote!(__ori::no_schema))
    };
    quote! {
        #implementation

        // Registered for the app's description.
        #[doc(hidden)]
        const _: () = {
            use #p as __ori;

            #schema_fn

            __ori::inventory::submit! {
                __ori::PushRegistration {
                    message_type: #message_type,
                    rust: #rust,
                    doc: #doc,
                    module: ::core::module_path!(),
                    schema: #schema,
                }
            }
        };
    }
}
