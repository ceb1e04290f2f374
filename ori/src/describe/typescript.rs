//! A typed TypeScript client of an [`ApiDescription`]: the types of every
//! `data`, reply and push (from their JSON Schemas), and a class with one
//! method per route over the `ori-ws-client` runtime (`clients/typescript`, on npm);
//! and the same client as a JavaScript module with JSDoc types, which
//! browsers load as it is (no build step) and `tsc` checks all the same.
//! Changing a Rust type and regenerating breaks the TypeScript caller at
//! `tsc` time.
//!
//! The output is deterministic: routes in description order, types sorted by
//! name, names made valid (and distinct) identifiers.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::Value;

use super::{ApiDescription, RouteDescription, TypeDescription};

/// How the TypeScript module is written.
#[derive(Debug, Clone)]
pub struct Options {
    /// The client class's name (default `Api`).
    pub class_name: String,
    /// Where the module imports `OriClient` from (default `ori-ws-client`, the npm package; a
    /// relative path such as `../../clients/typescript/src/index.js` works too).
    pub runtime: String,
    /// The command that regenerates the module, for its header.
    pub command: String,
}

impl Default for Options {
    fn default() -> Self {
        Options { class_name: "Api".to_owned(), runtime: "ori-ws-client".to_owned(), command: String::new() }
    }
}

impl Options {
    /// Options for a client class named `class_name`.
    pub fn new(class_name: impl Into<String>) -> Options {
        Options { class_name: class_name.into(), ..Options::default() }
    }

    /// Imports the runtime from `runtime`.
    pub fn runtime(mut self, runtime: impl Into<String>) -> Options {
        self.runtime = runtime.into();
        self
    }

    /// Names the command that regenerates the module in its header.
    pub fn command(mut self, command: impl Into<String>) -> Options {
        self.command = command.into();
        self
    }
}

impl ApiDescription {
    /// The app's typed client, as a TypeScript module.
    ///
    /// ```
    /// use ori::describe::typescript::Options;
    ///
    /// let app = ori::Ori::create().websocket(ori::WebSocketConfig::default());
    /// let module = app.describe().typescript(&Options::new("ChatApi"));
    /// assert!(module.contains("export class ChatApi"));
    /// ```
    pub fn typescript(&self, options: &Options) -> String {
        Writer::new(self, options, false).module()
    }

    /// The app's typed client as a JavaScript module (ES module, JSDoc
    /// types, `// @ts-check`): what a browser page imports as it is.
    ///
    /// ```
    /// use ori::describe::typescript::Options;
    ///
    /// let app = ori::Ori::create().websocket(ori::WebSocketConfig::default());
    /// let module = app.describe().javascript(&Options::new("ChatApi"));
    /// assert!(module.contains("export class ChatApi"));
    /// ```
    pub fn javascript(&self, options: &Options) -> String {
        Writer::new(self, options, true).module()
    }
}

/// The doc comment of the class's `on`.
const ON_DOC: &str =
    "Calls `listener` with the `data` of every push of `type`; returns the function that stops it.";

/// One method of the client class: one route.
struct Method {
    name: String,
    /// The route's doc comment, message type and error codes.
    doc: String,
    /// The message type as a string literal.
    key: String,
    /// The type of `data`; `None` for a route that takes none.
    data: Option<String>,
    reply: String,
}

/// Members of the generated class a route's method must not take.
const CLASS_MEMBERS: [&str; 8] =
    ["client", "on", "connect", "constructor", "close", "subscribe", "presence", "onPresence"];

const SUBSCRIBE_DOC: &str = "Joins `topic` (with `presence`, and from a position on a topic that keeps history); \
     joined again from the last position seen after every reconnection.";
const PRESENCE_DOC: &str = "Who is on `topic` (joined with `presence: true`); `null` before its first state.";
const ON_PRESENCE_DOC: &str =
    "Calls `listener` with each presence change (join, leave, synced); returns the function that stops it.";

struct Writer<'a> {
    description: &'a ApiDescription,
    options: &'a Options,
    /// Definition name -> TypeScript name.
    names: BTreeMap<String, String>,
    /// JavaScript with JSDoc types (types written inside comments, so
    /// without doc comments of their own).
    javascript: bool,
}

impl<'a> Writer<'a> {
    fn new(description: &'a ApiDescription, options: &'a Options, javascript: bool) -> Writer<'a> {
        let mut taken: BTreeSet<String> = [
            options.class_name.as_str(),
            "Requests",
            "Pushes",
            "OriClient",
            "ClientOptions",
            "RequestOptions",
            "SubscribeOptions",
            "Subscribed",
            "PresenceChange",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        let names = description
            .definitions
            .keys()
            .map(|name| {
                let ts = distinct(&identifier(name, true), &mut taken);
                (name.clone(), ts)
            })
            .collect();
        Writer { description, options, names, javascript }
    }

    fn module(&self) -> String {
        let mut out = String::new();
        out.push_str("// Generated by ori from the app's routers and pushes: do not edit.\n");
        if !self.options.command.is_empty() {
            let _ = writeln!(out, "// Regenerate with: {}", self.options.command);
        }
        let runtime = json_string(&self.options.runtime);
        if self.javascript {
            out.push_str("// @ts-check\n");
            let _ = writeln!(out, "import {{ OriClient }} from {runtime};\n");
            for name in ["ClientOptions", "SubscribeOptions", "Subscribed", "PresenceChange"] {
                let _ = writeln!(out, "/** @typedef {{import({runtime}).{name}}} {name} */");
            }
            out.push('\n');
        } else {
            let _ = writeln!(out, "import {{ OriClient }} from {runtime};");
            let _ = writeln!(
                out,
                "import type {{ ClientOptions, PresenceChange, SubscribeOptions, Subscribed }} from {runtime};\n"
            );
        }
        for (name, schema) in &self.description.definitions {
            self.definition(&mut out, &self.names[name], schema);
        }
        self.requests(&mut out);
        self.pushes(&mut out);
        self.request_options(&mut out);
        if self.javascript {
            self.js_class(&mut out);
        } else {
            self.class(&mut out);
        }
        out
    }

    fn js_class(&self, out: &mut String) {
        let class = &self.options.class_name;
        out.push_str("/** The app's typed client: one method per route, typed pushes. */\n");
        let _ = writeln!(out, "export class {class} {{");
        out.push_str("  /** @param {OriClient} client the client underneath */\n");
        out.push_str("  constructor(client) {\n");
        out.push_str("    /** The client underneath: topics, events, state, close. */\n");
        out.push_str("    this.client = client;\n  }\n\n");
        let connect = self.connect_doc();
        let tags = ["@param {string} url", "@param {ClientOptions} [options]"].map(str::to_owned);
        doc_block(out, "  ", &connect, &[&tags[..], &[format!("@returns {{Promise<{class}>}}")]].concat());
        out.push_str("  static async connect(url, options) {\n");
        let _ = writeln!(out, "    return new {class}(await OriClient.connect(url, options));\n  }}\n");
        for method in self.methods() {
            let mut tags = Vec::new();
            if let Some(data) = &method.data {
                tags.push(format!("@param {{{}}} data", data.replace('\n', " ")));
            }
            tags.push("@param {RequestOptions} [options]".to_owned());
            tags.push(format!("@returns {{Promise<{}>}}", method.reply.replace('\n', " ")));
            doc_block(out, "  ", &method.doc, &tags);
            let (params, data) =
                if method.data.is_some() { ("data, options", "data") } else { ("options", "undefined") };
            let _ = writeln!(out, "  {}({params}) {{", method.name);
            let _ = writeln!(out, "    return this.client.request({}, {data}, options);\n  }}\n", method.key);
        }
        let tags = [
            "@template {keyof Pushes} K",
            "@param {K} type",
            "@param {(data: Pushes[K]) => void} listener",
            "@returns {() => void}",
        ]
        .map(str::to_owned);
        doc_block(out, "  ", ON_DOC, &tags);
        out.push_str("  on(type, listener) {\n    return this.client.on(type, listener);\n  }\n\n");
        let tags = [
            "@param {string} topic",
            "@param {SubscribeOptions} [options]",
            "@returns {Promise<Subscribed>}",
        ];
        doc_block(out, "  ", SUBSCRIBE_DOC, &tags.map(str::to_owned));
        out.push_str(
            "  subscribe(topic, options) {\n    return this.client.subscribe(topic, options);\n  }\n\n",
        );
        let tags = ["@param {string} topic", "@returns {Record<string, unknown[]> | null}"];
        doc_block(out, "  ", PRESENCE_DOC, &tags.map(str::to_owned));
        out.push_str("  presence(topic) {\n    return this.client.presence(topic);\n  }\n\n");
        let tags = ["@param {(change: PresenceChange) => void} listener", "@returns {() => boolean}"];
        doc_block(out, "  ", ON_PRESENCE_DOC, &tags.map(str::to_owned));
        out.push_str("  onPresence(listener) {\n    return this.client.onPresence(listener);\n  }\n}\n");
    }

    fn definition(&self, out: &mut String, name: &str, schema: &Value) {
        if self.javascript {
            typedef(out, description_of(schema), &self.ts(schema, ""), name);
            return;
        }
        doc_comment(out, "", description_of(schema));
        match schema.get("type").and_then(Value::as_str) {
            Some("object") if schema.get("properties").is_some() && !is_union(schema) => {
                let _ = writeln!(out, "export interface {name} {}\n", self.object(schema, ""));
            }
            _ => {
                let _ = writeln!(out, "export type {name} = {};\n", self.ts(schema, ""));
            }
        }
    }

    /// `Requests`: every route's `data`, reply and error codes, by message type.
    fn requests(&self, out: &mut String) {
        let members: Vec<(&str, String)> = self
            .description
            .routes
            .iter()
            .map(|route| {
                let errors = union(route.errors.iter().map(|code| json_string(code)));
                let (data, reply) = (self.type_of(&route.data), self.type_of(&route.reply));
                let member = format!(
                    "{}: {{ data: {data}; reply: {reply}; errors: {errors} }}",
                    json_string(&route.message_type)
                );
                ("", member)
            })
            .collect();
        let doc = "Every route: the `data` it takes, the `data` it replies and the `code`s of the errors it may answer.";
        self.record(out, doc, "Requests", &members);
    }

    /// `Pushes`: every typed push's `data`, by message type.
    fn pushes(&self, out: &mut String) {
        let members: Vec<(&str, String)> = self
            .description
            .pushes
            .iter()
            .map(|push| {
                (
                    push.doc.as_str(),
                    format!("{}: {}", json_string(&push.message_type), self.type_of(&push.data)),
                )
            })
            .collect();
        self.record(out, "Every typed push: its `data`, by message type.", "Pushes", &members);
    }

    /// An object type of `members` (`(doc, "key: type")`): an interface in
    /// TypeScript, a typedef in JavaScript (whose members cannot have docs).
    fn record(&self, out: &mut String, doc: &str, name: &str, members: &[(&str, String)]) {
        if self.javascript {
            let mut ty = String::from("{\n");
            for (_, member) in members {
                let _ = writeln!(ty, "  {};", member.replace('\n', " "));
            }
            ty.push('}');
            return typedef(out, doc, &ty, name);
        }
        doc_comment(out, "", doc);
        let _ = writeln!(out, "export interface {name} {{");
        for (member_doc, member) in members {
            doc_comment(out, "  ", member_doc);
            let _ = writeln!(out, "  {member};");
        }
        out.push_str("}\n\n");
    }

    /// `RequestOptions`.
    fn request_options(&self, out: &mut String) {
        let timeout = "How long to wait for the reply, ms (default: the client's `requestTimeout`).";
        self.record(
            out,
            "Options of one request.",
            "RequestOptions",
            &[(timeout, "timeout?: number".to_owned())],
        );
    }

    /// The doc of `connect`: what the server checks of every connection.
    fn connect_doc(&self) -> String {
        let mut doc = "Connects to `url` and resolves once the server accepted the connection.".to_owned();
        let guards = &self.description.connection_guards;
        if !guards.is_empty() {
            let _ = write!(
                doc,
                "\n\nEvery connection must pass {} (run once, at connect): a refusal closes it with 1008.",
                code_list(guards)
            );
        }
        doc
    }

    /// One method per route, named after its handler (or message type).
    fn methods(&self) -> Vec<Method> {
        let mut taken: BTreeSet<String> = CLASS_MEMBERS.iter().map(|m| (*m).to_owned()).collect();
        self.description
            .routes
            .iter()
            .map(|route| {
                let mut doc = route.doc.clone();
                if !doc.is_empty() {
                    doc.push_str("\n\n");
                }
                let _ = write!(doc, "`{}`", route.message_type.replace('`', "'"));
                if !route.router_guards.is_empty() {
                    let _ = write!(
                        doc,
                        "\n\nOnly for connections that {} admitted at connect (router-scoped); others get `forbidden`.",
                        code_list(&route.router_guards)
                    );
                }
                if !route.message_guards.is_empty() {
                    let _ = write!(doc, "\n\nEach message is checked by {} first.", code_list(&route.message_guards));
                }
                if !route.errors.is_empty() {
                    let _ = write!(doc, "\n\nFails with an `OriError` whose `code` is {}.", code_list(&route.errors));
                }
                Method {
                    name: distinct(&self.method_name(route), &mut taken),
                    doc,
                    key: json_string(&route.message_type),
                    data: (!route.data.is_unit()).then(|| self.type_of(&route.data)),
                    reply: self.type_of(&route.reply),
                }
            })
            .collect()
    }

    fn class(&self, out: &mut String) {
        let class = &self.options.class_name;
        let _ = writeln!(out, "/** The app's typed client: one method per route, typed pushes. */");
        let _ = writeln!(out, "export class {class} {{");
        out.push_str("  /** The client underneath: topics, events, state, close. */\n");
        out.push_str("  readonly client: OriClient;\n\n");
        out.push_str("  constructor(client: OriClient) {\n    this.client = client;\n  }\n\n");
        doc_comment(out, "  ", &self.connect_doc());
        let _ = writeln!(
            out,
            "  static async connect(url: string, options?: ClientOptions): Promise<{class}> {{"
        );
        let _ = writeln!(out, "    return new {class}(await OriClient.connect(url, options));\n  }}\n");
        for method in self.methods() {
            doc_comment(out, "  ", &method.doc);
            let (name, key, reply) = (&method.name, &method.key, &method.reply);
            match &method.data {
                Some(data) => {
                    let _ = writeln!(
                        out,
                        "  {name}(data: {data}, options?: RequestOptions): Promise<{reply}> {{"
                    );
                    let _ = writeln!(out, "    return this.client.request({key}, data, options);\n  }}\n");
                }
                None => {
                    let _ = writeln!(out, "  {name}(options?: RequestOptions): Promise<{reply}> {{");
                    let _ =
                        writeln!(out, "    return this.client.request({key}, undefined, options);\n  }}\n");
                }
            }
        }
        let _ = writeln!(out, "  /** {ON_DOC} */");
        out.push_str(
            "  on<K extends keyof Pushes>(type: K, listener: (data: Pushes[K]) => void): () => void {\n",
        );
        out.push_str("    return this.client.on(type, listener);\n  }\n\n");
        let _ = writeln!(out, "  /** {SUBSCRIBE_DOC} */");
        out.push_str("  subscribe(topic: string, options?: SubscribeOptions): Promise<Subscribed> {\n");
        out.push_str("    return this.client.subscribe(topic, options);\n  }\n\n");
        let _ = writeln!(out, "  /** {PRESENCE_DOC} */");
        out.push_str("  presence(topic: string): Record<string, unknown[]> | null {\n");
        out.push_str("    return this.client.presence(topic);\n  }\n\n");
        let _ = writeln!(out, "  /** {ON_PRESENCE_DOC} */");
        out.push_str("  onPresence(listener: (change: PresenceChange) => void): () => boolean {\n");
        out.push_str("    return this.client.onPresence(listener);\n  }\n}\n");
    }

    fn method_name(&self, route: &RouteDescription) -> String {
        if route.handler.is_empty() {
            identifier(&route.message_type, false)
        } else {
            identifier(&route.handler, false)
        }
    }

    fn type_of(&self, ty: &TypeDescription) -> String {
        match &ty.schema {
            Some(schema) => self.ts(schema, ""),
            None if ty.is_unit() => "null".to_owned(),
            None => "unknown".to_owned(),
        }
    }

    /// The TypeScript type of a JSON Schema (draft 7, as schemars writes it).
    fn ts(&self, schema: &Value, indent: &str) -> String {
        let Value::Object(map) = schema else {
            return if schema == &Value::Bool(false) { "never" } else { "unknown" }.to_owned();
        };
        if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
            let name = reference.rsplit('/').next().unwrap_or(reference);
            return self.names.get(name).cloned().unwrap_or_else(|| "unknown".to_owned());
        }
        if let Some(value) = map.get("const") {
            return literal(value);
        }
        if let Some(Value::Array(values)) = map.get("enum") {
            return union(values.iter().map(literal));
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(options)) = map.get(key) {
                return union(options.iter().map(|o| self.ts(&merged(map, o), indent)));
            }
        }
        if let Some(Value::Array(parts)) = map.get("allOf") {
            return parts.iter().map(|p| parenthesized(self.ts(p, indent))).collect::<Vec<_>>().join(" & ");
        }
        match map.get("type") {
            Some(Value::Array(types)) => union(types.iter().map(|t| {
                let mut single = map.clone();
                single.insert("type".to_owned(), t.clone());
                self.ts(&Value::Object(single), indent)
            })),
            Some(Value::String(ty)) => match ty.as_str() {
                "string" => "string".to_owned(),
                "integer" | "number" => "number".to_owned(),
                "boolean" => "boolean".to_owned(),
                "null" => "null".to_owned(),
                "array" => self.array(map, indent),
                "object" => self.object(schema, indent),
                _ => "unknown".to_owned(),
            },
            _ if map.contains_key("properties") => self.object(schema, indent),
            _ => "unknown".to_owned(),
        }
    }

    fn array(&self, map: &serde_json::Map<String, Value>, indent: &str) -> String {
        match map.get("items") {
            // Draft 7 tuples: `items` is the list of element schemas.
            Some(Value::Array(items)) => {
                format!("[{}]", items.iter().map(|i| self.ts(i, indent)).collect::<Vec<_>>().join(", "))
            }
            Some(items) => format!("{}[]", parenthesized(self.ts(items, indent))),
            None => "unknown[]".to_owned(),
        }
    }

    fn object(&self, schema: &Value, indent: &str) -> String {
        let empty = serde_json::Map::new();
        let properties = schema.get("properties").and_then(Value::as_object).unwrap_or(&empty);
        let required: BTreeSet<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let extra = match schema.get("additionalProperties") {
            Some(Value::Bool(false)) => None,
            None if !properties.is_empty() => None,
            Some(Value::Bool(true)) | None => Some("unknown".to_owned()),
            Some(other) => Some(self.ts(other, indent)),
        };
        if properties.is_empty() {
            return match extra {
                Some(values) => format!("Record<string, {values}>"),
                None => "Record<string, never>".to_owned(),
            };
        }
        let inner = format!("{indent}  ");
        let mut out = String::from("{\n");
        for (name, property) in properties {
            if !self.javascript {
                doc_comment(&mut out, &inner, description_of(property));
            }
            let optional = if required.contains(name.as_str()) { "" } else { "?" };
            let _ = writeln!(out, "{inner}{}{optional}: {};", property_name(name), self.ts(property, &inner));
        }
        if let Some(values) = extra {
            let _ = writeln!(out, "{inner}[key: string]: {values};");
        }
        let _ = write!(out, "{indent}}}");
        out
    }
}

/// Whether a schema is a union (then it is written as a type, not an interface).
fn is_union(schema: &Value) -> bool {
    ["oneOf", "anyOf", "allOf", "enum", "const"].iter().any(|k| schema.get(k).is_some())
}

/// `option` with the keywords of its parent it does not set (a `oneOf` inside
/// an object schema keeps the object's `type`, say).
fn merged(parent: &serde_json::Map<String, Value>, option: &Value) -> Value {
    let Value::Object(option) = option else { return option.clone() };
    let mut out = option.clone();
    for (key, value) in parent {
        let shared = !matches!(key.as_str(), "oneOf" | "anyOf" | "description" | "title" | "$schema");
        if shared && !out.contains_key(key) && !out.contains_key("$ref") {
            out.insert(key.clone(), value.clone());
        }
    }
    Value::Object(out)
}

fn union(parts: impl Iterator<Item = String>) -> String {
    let mut seen = Vec::new();
    for part in parts {
        if !seen.contains(&part) {
            seen.push(part);
        }
    }
    match seen.len() {
        0 => "never".to_owned(),
        _ => seen.join(" | "),
    }
}

fn parenthesized(ty: String) -> String {
    if ty.contains(" | ") || ty.contains(" & ") { format!("({ty})") } else { ty }
}

fn literal(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "unknown".to_owned())
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

fn description_of(schema: &Value) -> &str {
    schema.get("description").and_then(Value::as_str).unwrap_or("")
}

/// `/** text */`, with `*/` escaped.
/// `names` as inline code in a doc comment, comma-separated (backquotes in
/// them become quotes).
fn code_list(names: &[String]) -> String {
    names.iter().map(|n| format!("`{}`", n.replace('`', "'"))).collect::<Vec<_>>().join(", ")
}

fn doc_comment(out: &mut String, indent: &str, text: &str) {
    doc_block(out, indent, text, &[]);
}

/// `/** text */` followed by JSDoc `tags` (`@param {T} name`), one per line
/// (a tag's own line breaks continue the comment); `*/` in the text escaped.
fn doc_block(out: &mut String, indent: &str, text: &str, tags: &[String]) {
    // In a tag, `*/` can only be inside a string literal, where `*\/` means the same.
    let text = text.trim().replace("*/", "*\\/");
    let tags: Vec<String> = tags.iter().map(|t| t.replace("*/", "*\\/")).collect();
    let lines: Vec<&str> = text.lines().chain(tags.iter().flat_map(|t| t.lines())).collect();
    match lines.as_slice() {
        [] => {}
        [line] if tags.is_empty() => {
            let _ = writeln!(out, "{indent}/** {line} */");
        }
        _ => {
            let _ = writeln!(out, "{indent}/**");
            for line in lines {
                let _ = writeln!(out, "{indent} *{}{}", if line.is_empty() { "" } else { " " }, line);
            }
            let _ = writeln!(out, "{indent} */");
        }
    }
}

/// `/** doc @typedef {ty} name */` and a blank line.
fn typedef(out: &mut String, doc: &str, ty: &str, name: &str) {
    doc_block(out, "", doc, &[format!("@typedef {{{ty}}} {name}")]);
    out.push('\n');
}

/// A property key: bare if it is an identifier, else quoted.
fn property_name(name: &str) -> String {
    if is_identifier(name) { name.to_owned() } else { json_string(name) }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// `text` as an identifier: words split on anything not alphanumeric, then
/// camelCase (PascalCase for types); a leading digit gets a `_`.
fn identifier(text: &str, pascal: bool) -> String {
    let mut out = String::new();
    for (i, word) in text.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).enumerate() {
        let mut chars = word.chars();
        let first = chars.next().expect("non-empty");
        if i == 0 && !pascal {
            out.push(first);
        } else {
            out.push(first.to_ascii_uppercase());
        }
        out.extend(chars);
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// `name`, or `name2`, `name3`, ... if taken; marks it taken.
fn distinct(name: &str, taken: &mut BTreeSet<String>) -> String {
    super::distinct_name(name, "", taken)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_valid_and_distinct() {
        assert_eq!(identifier("get_online", false), "getOnline");
        assert_eq!(identifier("presence.getOnline", false), "presenceGetOnline");
        assert_eq!(identifier("9lives-x", false), "_9livesX");
        assert_eq!(identifier("Wrapper_for_string", true), "WrapperForString");
        assert_eq!(identifier("…", false), "_");
        let mut taken = BTreeSet::from(["on".to_owned()]);
        assert_eq!(distinct("on", &mut taken), "on2");
        assert_eq!(distinct("on", &mut taken), "on3");
        assert_eq!(property_name("user_id"), "user_id");
        assert_eq!(property_name("a-b"), "\"a-b\"");
    }

    #[test]
    fn schemas_become_types() {
        let description = ApiDescription {
            path: Some("/ws".into()),
            routes: Vec::new(),
            pushes: Vec::new(),
            definitions: BTreeMap::from([(
                "Role".to_owned(),
                serde_json::json!({"type": "string", "enum": ["member", "admin"]}),
            )]),
            rate_limited: false,
            connection_guards: Vec::new(),
        };
        let options = Options::default();
        let writer = Writer::new(&description, &options, false);
        let ts = |schema: Value| writer.ts(&schema, "");
        assert_eq!(ts(serde_json::json!({"type": ["string", "null"]})), "string | null");
        assert_eq!(
            ts(serde_json::json!({"type": "array", "items": {"$ref": "#/definitions/Role"}})),
            "Role[]"
        );
        assert_eq!(
            ts(serde_json::json!({"type": "array", "items": [{"type": "integer"}, {"type": "string"}]})),
            "[number, string]"
        );
        assert_eq!(
            ts(serde_json::json!({"type": "object", "additionalProperties": {"type": "boolean"}})),
            "Record<string, boolean>"
        );
        assert_eq!(
            ts(serde_json::json!({"anyOf": [{"$ref": "#/definitions/Role"}, {"type": "null"}]})),
            "Role | null"
        );
        assert_eq!(ts(serde_json::json!({"const": "a\"b"})), "\"a\\\"b\"");
        assert_eq!(ts(serde_json::json!(true)), "unknown");
        assert_eq!(
            ts(
                serde_json::json!({"type": "object", "properties": {"a-b": {"type": "integer", "description": "x */ y"}}, "required": []})
            ),
            "{\n  /** x *\\/ y */\n  \"a-b\"?: number;\n}"
        );
    }
}
