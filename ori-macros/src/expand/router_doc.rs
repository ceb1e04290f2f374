//! The rustdoc `#[socket_router]` adds to the router's impl block: a table of
//! its routes (message type, `data`, reply, message guards, declared error
//! codes, summary), its connection guards and layers, so the router's page in
//! `cargo doc` lists what it answers.

use std::fmt::Write as _;

use crate::model::router::{Handler, Output, Router};
use crate::model::type_name;

/// The doc text: a heading, the connection guards, the table.
pub(crate) fn route_table(router: &Router) -> String {
    let mut doc = String::from("\n# Socket routes\n\n");
    if !router.guards.is_empty() {
        let guards: Vec<String> = router.guards.iter().map(|g| code(&path_name(g))).collect();
        let scope = if router.router_scoped {
            "Router guards (run once per connection, in order; a connection they refuse \
             gets `forbidden` on these routes and keeps the rest)"
        } else {
            "Connection guards (run once per connection, in order; every connection of the \
             endpoint must pass them, and a refusal closes it with 1008)"
        };
        let _ = writeln!(doc, "{scope}: {}.\n", guards.join(", "));
    }
    if !router.layers.is_empty() {
        let layers: Vec<String> = router.layers.iter().map(|l| code(&path_name(l))).collect();
        let _ = writeln!(doc, "Layers (around every route, outermost first): {}.\n", layers.join(", "));
    }
    doc.push_str("| type | data | reply | message guards | errors | summary |\n");
    doc.push_str("| --- | --- | --- | --- | --- | --- |\n");
    for handler in &router.handlers {
        let data = handler.data.as_ref().map_or_else(|| "none".to_owned(), |ty| code(&type_name(ty)));
        let guards: Vec<String> = handler.guards.iter().map(|g| code(&path_name(g))).collect();
        let mut errors: Vec<String> = handler.errors.iter().map(|e| code(&e.value())).collect();
        if let Some(ms) = handler.timeout_ms {
            errors.push(format!("`timeout` ({ms} ms)"));
        }
        let _ = writeln!(
            doc,
            "| {} | {data} | {} | {} | {} | {} |",
            code(&handler.message_type.value()),
            reply(handler),
            guards.join(", "),
            errors.join(", "),
            cell(handler.docs.lines().next().unwrap_or("").trim()),
        );
    }
    doc
}

/// What a successful reply carries.
fn reply(handler: &Handler) -> String {
    match &handler.output {
        Output::Unit => "`null`".to_owned(),
        Output::Result { ok: Some(ok), .. } => code(&type_name(ok)),
        Output::Result { full, .. } => code(&type_name(full)),
        Output::Value(ty) => code(&type_name(ty)),
    }
}

fn path_name(path: &syn::Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    segments.join("::")
}

/// `text` as inline code in a table cell.
fn code(text: &str) -> String {
    format!("`{}`", cell(&text.replace('`', "'")))
}

/// `text` safe in a table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use crate::ctxt::Ctxt;
    use crate::parse::router::RouterArgs;

    #[test]
    fn the_table_lists_every_route() {
        let cx = Ctxt::new();
        let mut item: syn::ItemImpl = parse_quote! {
            impl Presence {
                /// Marks the sender online.
                ///
                /// More.
                #[on("presence.heartbeat")]
                async fn heartbeat(&self, data: Heartbeat) -> Result<Ack, SocketError> { Ok(Ack) }

                #[on("presence.kick", guard = auth::Admin, errors = ["not_found"])]
                async fn kick(&self, ctx: SocketContext<User>) {}

                /// A | in a summary.
                #[on("presence.list")]
                async fn list(&self) -> Vec<Option<User>> { Vec::new() }
            }
        };
        let args = RouterArgs {
            guards: vec![parse_quote!(TokenGuard)],
            layers: vec![parse_quote!(layers::Audit), parse_quote!(Timing)],
            ..RouterArgs::default()
        };
        let router = crate::model::router::router(&cx, args, &mut item);
        cx.check().expect("a valid router");
        let table = super::route_table(&router.expect("a router"));
        assert_eq!(
            table,
            "\n# Socket routes\n\n\
             Connection guards (run once per connection, in order; every connection of the \
             endpoint must pass them, and a refusal closes it with 1008): `TokenGuard`.\n\n\
             Layers (around every route, outermost first): `layers::Audit`, `Timing`.\n\n\
             | type | data | reply | message guards | errors | summary |\n\
             | --- | --- | --- | --- | --- | --- |\n\
             | `presence.heartbeat` | `Heartbeat` | `Ack` |  |  | Marks the sender online. |\n\
             | `presence.kick` | none | `null` | `auth::Admin` | `not_found` |  |\n\
             | `presence.list` | none | `Vec<Option<User>>` |  |  | A \\| in a summary. |\n"
        );
    }
}
