//! Attribute keywords, declared once.

syn::custom_keyword!(guard);
syn::custom_keyword!(value);
syn::custom_keyword!(default);
