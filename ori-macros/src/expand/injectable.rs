//! `#[injectable]`, `#[connection_guard]`, `#[message_guard]`: the struct as
//! written (minus `#[inject]`), an `Injectable` impl building every field from
//! the container, the inventory registration, and for guards a spanned check
//! that the guard trait is implemented.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::Fields;
use syn::spanned::Spanned;

use crate::model::injectable::{Injectable, Kind};
use crate::parse::injectable::FieldSource;
use crate::paths::Paths;

/// Expands a validated injectable struct.
pub(crate) fn expand(injectable: &Injectable) -> TokenStream {
    let Injectable { kind, strukt, sources, krate } = injectable;
    let p = Paths::new(krate.clone()).private();
    let name = &strukt.ident;
    let fields: Vec<_> = strukt.fields.iter().zip(sources).collect();
    let deps = fields.iter().map(|(field, source)| {
        let ty = &field.ty;
        match source {
            FieldSource::Dependency => {
                quote_spanned!(ty.span()=> __ori::Extend::extend(&mut __ori_deps, <#ty as __ori::Dependency>::dep());)
            }
            FieldSource::Value => quote!(__ori_deps.push(__ori::Dep::of::<#ty>());),
            FieldSource::Default => quote!(),
        }
    });
    let values: Vec<_> = fields
        .iter()
        .map(|(field, source)| {
            let ty = &field.ty;
            match source {
                FieldSource::Dependency => {
                    quote_spanned!(ty.span()=> <#ty as __ori::Dependency>::resolve(__ori_resolver))
                }
                FieldSource::Value => quote_spanned!(ty.span()=> __ori_resolver.value::<#ty>()),
                FieldSource::Default => quote_spanned!(ty.span()=> <#ty as __ori::Default>::default()),
            }
        })
        .collect();
    let construct = match &strukt.fields {
        Fields::Named(named) => {
            let idents = named.named.iter().map(|f| f.ident.as_ref().expect("named field"));
            quote!(Self { #(#idents: #values),* })
        }
        Fields::Unnamed(_) => quote!(Self(#(#values),*)),
        Fields::Unit => quote!(Self),
    };
    let kind_check = match kind {
        Kind::Injectable => quote!(),
        Kind::ConnectionGuard => quote_spanned!(name.span()=> __ori::check_connection_guard_impl::<#name>();),
        Kind::MessageGuard => quote_spanned!(name.span()=> __ori::check_message_guard_impl::<#name>();),
    };
    quote! {
        #strukt

        #[doc(hidden)]
        #[allow(non_snake_case, dead_code, clippy::all)]
        const _: () = {
            use #p as __ori;

            #[automatically_derived]
            impl __ori::Injectable for #name {
                fn dependencies() -> __ori::Vec<__ori::Dep> {
                    #[allow(unused_mut)]
                    let mut __ori_deps = __ori::Vec::new();
                    #(#deps)*
                    __ori_deps
                }

                fn build(__ori_resolver: &__ori::Resolver<'_>) -> Self {
                    let _ = __ori_resolver;
                    #construct
                }
            }

            __ori::inventory::submit! { __ori::ProviderRegistration::of::<#name>() }

            fn __ori_checks() {
                #kind_check
            }
        };
    }
}
