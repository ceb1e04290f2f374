//! `#[injectable]`, `#[connection_guard]`, `#[message_guard]`: the struct as
//! written (minus `#[inject]`), an `Injectable` impl building every field from
//! the container, and the inventory registration.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Fields, Item};

use crate::ctxt::Ctxt;
use crate::parse::injectable::{FieldSource, InjectableArgs};
use crate::paths::Paths;

/// Which attribute is expanding.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Injectable,
    ConnectionGuard,
    MessageGuard,
}

impl Kind {
    fn attribute(self) -> &'static str {
        match self {
            Kind::Injectable => "injectable",
            Kind::ConnectionGuard => "connection_guard",
            Kind::MessageGuard => "message_guard",
        }
    }
}

pub(crate) fn expand(kind: Kind, args: TokenStream, input: TokenStream) -> TokenStream {
    let cx = Ctxt::new();
    let args = match syn::parse::Parser::parse2(InjectableArgs::parser(kind.attribute()), args) {
        Ok(args) => args,
        Err(e) => {
            cx.push(e);
            InjectableArgs::default()
        }
    };
    let mut item: Item = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(e) => {
            cx.push(e);
            return with_errors(input, cx);
        }
    };
    let attribute = kind.attribute();
    let Item::Struct(strukt) = &mut item else {
        match &item {
            Item::Enum(e) => cx.error_spanned_by(
                e.enum_token,
                format!("`#[{attribute}]` goes on a struct (whose fields are its dependencies), not an enum"),
            ),
            other => cx.error_spanned_by(other, format!("`#[{attribute}]` goes on a struct")),
        }
        return with_errors(input, cx);
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
    if let Err(errors) = cx.check() {
        let mut tokens = quote!(#item);
        tokens.extend(errors.to_compile_error());
        return tokens;
    }

    let Item::Struct(strukt) = &item else { unreachable!("matched above") };
    let p = Paths::new(args.krate).private();
    let name = &strukt.ident;
    let fields: Vec<_> = strukt.fields.iter().zip(&sources).collect();
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
        #item

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

/// The input unchanged (so IDEs and later errors stay sane) plus the errors.
pub(crate) fn with_errors(input: TokenStream, cx: Ctxt) -> TokenStream {
    let mut tokens = input;
    if let Err(errors) = cx.check() {
        tokens.extend(errors.to_compile_error());
    }
    tokens
}
