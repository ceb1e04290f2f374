//! Every runtime path the expansion uses goes through [`Paths`], so generated
//! code names the runtime only as `<crate>::__private::...` (default `::ori`,
//! overridable with `crate = path` for renamed or re-exported crates).

use proc_macro2::TokenStream;
use quote::quote;

/// The runtime crate's path.
pub(crate) struct Paths {
    krate: syn::Path,
}

impl Paths {
    pub(crate) fn new(krate: Option<syn::Path>) -> Paths {
        Paths { krate: krate.unwrap_or_else(|| syn::parse_quote!(::ori)) }
    }

    /// `<crate>::__private`.
    pub(crate) fn private(&self) -> TokenStream {
        let krate = &self.krate;
        quote!(#krate::__private)
    }
}
