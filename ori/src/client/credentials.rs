//! [`Credentials`]: what the client re-authenticates with
//! ([`Client::reauthenticate`](crate::client::Client::reauthenticate)), and
//! what its reconnections then send in place of the builder's query
//! parameters and headers.

use std::collections::BTreeMap;

use serde::Serialize;

/// Query parameters and headers that replace those of the same names in the
/// upgrade request: for the server's guards now (PROTOCOL.md,
/// "Re-authentication"), and for every reconnection after.
///
/// ```
/// let credentials = ori::client::Credentials::new().query("token", "fresh-token");
/// ```
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Credentials {
    query: BTreeMap<String, String>,
    headers: BTreeMap<String, String>,
}

impl Credentials {
    /// No replacement yet.
    pub fn new() -> Credentials {
        Credentials::default()
    }

    /// Replaces the query parameter `name` (e.g. a `token`).
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.insert(name.into(), value.into());
        self
    }

    /// Replaces the header `name` (e.g. `authorization`; names are case-insensitive).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into().to_ascii_lowercase(), value.into());
        self
    }

    /// Adds `newer`'s replacements over these.
    pub(crate) fn merge(&mut self, newer: &Credentials) {
        self.query.extend(newer.query.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.headers.extend(newer.headers.iter().map(|(k, v)| (k.clone(), v.clone())));
    }

    /// `pairs` (the builder's), with the replaced names' values replaced.
    pub(crate) fn over_query(&self, pairs: &[(String, String)]) -> Vec<(String, String)> {
        replace(pairs, &self.query, false)
    }

    /// `pairs` (the builder's headers), with the replaced names' values replaced.
    pub(crate) fn over_headers(&self, pairs: &[(String, String)]) -> Vec<(String, String)> {
        replace(pairs, &self.headers, true)
    }
}

fn replace(
    pairs: &[(String, String)],
    new: &BTreeMap<String, String>,
    ignore_case: bool,
) -> Vec<(String, String)> {
    let replaced =
        |name: &str| new.keys().any(|k| if ignore_case { k.eq_ignore_ascii_case(name) } else { k == name });
    let kept = pairs.iter().filter(|(name, _)| !replaced(name)).cloned();
    kept.chain(new.iter().map(|(k, v)| (k.clone(), v.clone()))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacements_keep_the_other_names() {
        let builder = [("token".to_owned(), "old".to_owned()), ("room".to_owned(), "1".to_owned())];
        let mut credentials = Credentials::new().query("token", "new");
        credentials.merge(&Credentials::new().header("Authorization", "Bearer x"));
        assert_eq!(
            credentials.over_query(&builder),
            [("room".to_owned(), "1".to_owned()), ("token".to_owned(), "new".to_owned())]
        );
        let headers = [("AUTHORIZATION".to_owned(), "Bearer old".to_owned())];
        assert_eq!(credentials.over_headers(&headers), [("authorization".to_owned(), "Bearer x".to_owned())]);
    }
}
