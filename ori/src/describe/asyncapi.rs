//! The AsyncAPI 3.0 document of an [`ApiDescription`]: one channel for the
//! WebSocket endpoint and one for topics; an operation per route (a request
//! the client sends, replied with its reply or an error envelope), per typed
//! push (received), and per control message of PROTOCOL.md (`ping`,
//! `subscribe`, `unsubscribe`); the envelope and the error envelope as
//! message traits; the types' schemas under `components/schemas`.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::{ApiDescription, TypeDescription};

impl ApiDescription {
    /// The app as an AsyncAPI 3.0 document (JSON), titled `title` at `version`.
    ///
    /// ```
    /// let app = ori::Ori::create().websocket(ori::WebSocketConfig::default());
    /// let document = app.describe().asyncapi("Chat", "1.0.0");
    /// assert_eq!(document["channels"]["endpoint"]["address"], "/ws");
    /// assert!(document["operations"]["ping"].is_object());
    /// ```
    pub fn asyncapi(&self, title: &str, version: &str) -> Value {
        Document::new(self).build(title, version)
    }
}

const ENDPOINT: &str = "#/channels/endpoint";

struct Document<'a> {
    description: &'a ApiDescription,
    messages: Map<String, Value>,
    channel_messages: Map<String, Value>,
    topic_messages: Map<String, Value>,
    operations: Map<String, Value>,
    /// Keys taken, of messages and of operations (two namespaces).
    message_ids: BTreeSet<String>,
    operation_ids: BTreeSet<String>,
}

impl<'a> Document<'a> {
    fn new(description: &'a ApiDescription) -> Document<'a> {
        Document {
            description,
            messages: Map::new(),
            channel_messages: Map::new(),
            topic_messages: Map::new(),
            operations: Map::new(),
            message_ids: BTreeSet::new(),
            operation_ids: BTreeSet::new(),
        }
    }

    fn build(mut self, title: &str, version: &str) -> Value {
        for route in &self.description.routes {
            let doc = if route.doc.is_empty() { None } else { Some(route.doc.as_str()) };
            let request = self.message(
                &format!("{}.request", route.message_type),
                envelope(&route.message_type, schema(&route.data), true, false),
                doc,
            );
            let reply = self.message(
                &format!("{}.reply", route.message_type),
                envelope(&route.message_type, schema(&route.reply), false, true),
                Some("The handler's reply, with the request's correlationId."),
            );
            let error = self.message(
                &format!("{}.error", route.message_type),
                error_envelope(Some(&route.message_type), &route.errors),
                Some("The request failed: an error envelope with the request's correlationId."),
            );
            let mut operation = json!({
                "action": "send",
                "channel": { "$ref": ENDPOINT },
                "title": route.message_type,
                "messages": [channel_ref(&request)],
                "reply": { "channel": { "$ref": ENDPOINT }, "messages": [channel_ref(&reply), channel_ref(&error)] },
            });
            if let Some(doc) = doc {
                operation["summary"] = json!(first_line(doc));
                operation["description"] = json!(doc);
            }
            // What the server enforces, by scope: every connection passed the
            // connection guards (or was closed with 1008); the router's guards
            // and the message guards answer `forbidden`.
            let mut guards = Map::new();
            for (scope, names) in [
                ("connection", &route.connection_guards),
                ("router", &route.router_guards),
                ("message", &route.message_guards),
            ] {
                if !names.is_empty() {
                    guards.insert(scope.to_owned(), json!(names));
                }
            }
            if !guards.is_empty() {
                operation["x-ori-guards"] = Value::Object(guards);
            }
            let id = self.id(&route.message_type);
            self.operations.insert(id, operation);
        }
        for push in &self.description.pushes {
            let doc = if push.doc.is_empty() { None } else { Some(push.doc.as_str()) };
            let payload = envelope(&push.message_type, schema(&push.data), false, false);
            let message = self.message(&push.message_type, payload, doc);
            self.topic_messages
                .insert(message.clone(), json!({ "$ref": format!("#/components/messages/{message}") }));
            let id = self.id(&format!("receive.{}", push.message_type));
            self.operations.insert(
                id,
                json!({
                    "action": "receive",
                    "channel": { "$ref": ENDPOINT },
                    "title": push.message_type,
                    "summary": "Pushed by the server (to a topic the client joined, or to this connection).",
                    "messages": [channel_ref(&message)],
                }),
            );
        }
        self.control_messages();
        let mut schemas = Map::new();
        for (name, schema) in &self.description.definitions {
            schemas.insert(name.clone(), with_component_refs(schema));
        }
        json!({
            "asyncapi": "3.0.0",
            "info": {
                "title": title,
                "version": version,
                "description": "An ori WebSocket API: JSON envelopes `{type, data, correlationId}` in text frames (PROTOCOL.md). A request's reply carries its correlationId; errors are `{type, error: {code, message}, correlationId}`.",
            },
            "defaultContentType": "application/json",
            "channels": {
                "endpoint": {
                    "address": self.description.path.clone().unwrap_or_else(|| "/ws".to_owned()),
                    "title": "The WebSocket endpoint",
                    "description": "Every message of a connection travels here, requests and replies, pushes and control messages.",
                    "messages": self.channel_messages,
                },
                "topic": {
                    "address": "{topic}",
                    "title": "A topic",
                    "description": "What the app publishes to a topic reaches every connection that joined it with `subscribe`, on the endpoint.",
                    "parameters": { "topic": { "description": "The topic's name (1..=256 characters; names beginning with `__` are reserved)." } },
                    "messages": self.topic_messages,
                },
            },
            "operations": self.operations,
            "components": {
                "schemas": schemas,
                "messages": self.messages,
                "messageTraits": {
                    "envelope": {
                        "contentType": "application/json",
                        "correlationId": {
                            "description": "Set by the client on a request; the reply carries it back.",
                            "location": "$message.payload#/correlationId",
                        },
                        "description": "An ori envelope: `type` routes it, `data` is the body.",
                    },
                    "errorEnvelope": {
                        "contentType": "application/json",
                        "correlationId": {
                            "description": "The failed request's correlationId, if it had one.",
                            "location": "$message.payload#/correlationId",
                        },
                        "description": "An ori error envelope: `error.code` says what failed (PROTOCOL.md lists the codes).",
                    },
                },
            },
        })
    }

    /// PROTOCOL.md's control messages and the error envelope of a message
    /// that could not be read.
    fn control_messages(&mut self) {
        let topic = json!({
            "type": "object",
            "properties": { "topic": { "type": "string" } },
            "required": ["topic"],
        });
        let position = json!({
            "type": "object",
            "properties": {
                "epoch": { "type": "string" },
                "offset": { "type": "integer", "minimum": 0 },
            },
            "required": ["epoch", "offset"],
        });
        let subscribe = json!({
            "type": "object",
            "properties": {
                "topic": { "type": "string" },
                "presence": { "type": "boolean", "description": "Also receive presence_state, then presence_diff." },
                "since": position,
            },
            "required": ["topic"],
        });
        let subscribed = json!({
            "type": "object",
            "properties": {
                "topic": { "type": "string" },
                "epoch": { "type": "string", "description": "When the topic keeps history." },
                "offset": { "type": "integer", "description": "The topic's last offset, when it keeps history." },
                "recovered": { "type": "boolean", "description": "When `since` was given." },
            },
            "required": ["topic"],
        });
        let members = json!({
            "type": "object",
            "additionalProperties": { "type": "array", "items": {} },
            "description": "Member keys to their metas.",
        });
        let presence = json!({
            "type": "object",
            "properties": {
                "topic": { "type": "string" },
                "members": members,
                "truncated": { "type": "boolean", "description": "Present (true) when more keys than the limit." },
            },
            "required": ["topic", "members"],
        });
        for (name, data, reply, doc) in [
            (
                "ping",
                json!({ "type": "null" }),
                None,
                "Liveness: answered with `pong`, carrying the correlationId.",
            ),
            (
                "subscribe",
                subscribe,
                Some(subscribed.clone()),
                "Joins a topic (with presence, and from a position on a topic that keeps history); \
                 replied once joined, before any message of the subscription.",
            ),
            ("unsubscribe", topic.clone(), Some(topic.clone()), "Leaves a topic; replied with `{topic}`."),
            (
                "presence",
                topic,
                Some(presence.clone()),
                "Who is on a topic, across every instance; needs no subscription.",
            ),
        ] {
            let request = self.message(name, envelope(name, data, true, false), Some(doc));
            let (reply_type, reply_data) = match reply {
                Some(data) => (name, data),
                None => ("pong", json!({ "type": "null" })),
            };
            let reply = self.message(
                &format!("{name}.reply"),
                envelope(reply_type, reply_data, false, true),
                Some("The reply, with the request's correlationId."),
            );
            let errors = ["bad_request".to_owned(), "forbidden".to_owned()];
            let mut replies = vec![channel_ref(&reply)];
            if name != "ping" {
                let error = self.message(
                    &format!("{name}.error"),
                    error_envelope(Some(name), &errors),
                    Some("The request failed."),
                );
                replies.push(channel_ref(&error));
            }
            let id = self.id(name);
            self.operations.insert(
                id,
                json!({
                    "action": "send",
                    "channel": { "$ref": ENDPOINT },
                    "title": name,
                    "summary": doc,
                    "messages": [channel_ref(&request)],
                    "reply": { "channel": { "$ref": ENDPOINT }, "messages": replies },
                }),
            );
        }
        let diff = json!({
            "type": "object",
            "properties": { "topic": { "type": "string" }, "joins": members, "leaves": members },
            "required": ["topic", "joins", "leaves"],
        });
        for (name, data, doc) in [
            (
                "presence_state",
                presence,
                "The members of a topic joined with presence, after the acknowledgement.",
            ),
            ("presence_diff", diff, "Who joined and left a topic joined with presence, in order."),
            (
                "subscribe",
                subscribed,
                "A topic's history was lost (a new epoch, offset 0, recovered false): refetch.",
            ),
        ] {
            let push = self.message(&format!("{name}.push"), envelope(name, data, false, false), Some(doc));
            let id = self.id(&format!("receive.{name}"));
            self.operations.insert(
                id,
                json!({
                    "action": "receive",
                    "channel": { "$ref": ENDPOINT },
                    "title": name,
                    "summary": doc,
                    "messages": [channel_ref(&push)],
                }),
            );
        }
        let mut codes = vec!["bad_request", "unknown_type", "unsupported", "internal"];
        if self.description.rate_limited {
            codes.insert(3, "rate_limited");
        }
        let unreadable = self.message(
            "error",
            error_envelope(None, &codes.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>()),
            Some("A message that could not be read or routed (malformed JSON, no `type`, an unknown type, ...)."),
        );
        let id = self.id("receive.error");
        self.operations.insert(
            id,
            json!({
                "action": "receive",
                "channel": { "$ref": ENDPOINT },
                "title": "error",
                "summary": "The server could not read or route a message.",
                "messages": [channel_ref(&unreadable)],
            }),
        );
    }

    /// Adds a message under a fresh id (in the components and the endpoint
    /// channel); returns the id.
    fn message(&mut self, name: &str, payload: Value, doc: Option<&str>) -> String {
        let id = component_id(name, &mut self.message_ids);
        let is_error = payload["properties"].get("error").is_some();
        let trait_name = if is_error { "errorEnvelope" } else { "envelope" };
        let mut message = json!({
            "name": name,
            "traits": [{ "$ref": format!("#/components/messageTraits/{trait_name}") }],
        });
        message["payload"] = payload;
        if let Some(doc) = doc {
            message["summary"] = json!(first_line(doc));
        }
        self.messages.insert(id.clone(), message);
        self.channel_messages.insert(id.clone(), json!({ "$ref": format!("#/components/messages/{id}") }));
        id
    }

    /// `name` as an operation's key.
    fn id(&mut self, name: &str) -> String {
        component_id(name, &mut self.operation_ids)
    }
}

/// `name` as a component key (`[A-Za-z0-9._-]`), distinct from those `taken`.
fn component_id(name: &str, taken: &mut BTreeSet<String>) -> String {
    let base: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect();
    super::distinct_name(&base, "_", taken)
}

fn channel_ref(id: &str) -> Value {
    json!({ "$ref": format!("{ENDPOINT}/messages/{id}") })
}

fn schema(ty: &TypeDescription) -> Value {
    match &ty.schema {
        Some(schema) => with_component_refs(schema),
        None if ty.is_unit() => json!({ "type": "null" }),
        None => json!({ "description": format!("`{}` (no schema)", ty.rust) }),
    }
}

/// The payload of an envelope of `message_type` carrying `data`.
fn envelope(message_type: &str, data: Value, request: bool, reply: bool) -> Value {
    let correlation = if reply {
        "The request's correlationId."
    } else if request {
        "Any string of up to 128 characters; a reply is sent only when it is present (or data is returned)."
    } else {
        "Absent on pushes."
    };
    let mut payload = json!({
        "type": "object",
        "properties": {
            "type": { "type": "string", "const": message_type },
            "correlationId": { "type": "string", "maxLength": 128, "description": correlation },
        },
        "required": ["type"],
    });
    payload["properties"]["data"] = data;
    payload
}

/// The payload of an error envelope, its `code` one of `codes` (or an app's own).
fn error_envelope(message_type: Option<&str>, codes: &[String]) -> Value {
    let message_type = match message_type {
        Some(t) => json!({ "type": "string", "const": t }),
        None => json!({ "type": "string", "description": "The request's type, or `error`." }),
    };
    json!({
        "type": "object",
        "properties": {
            "type": message_type,
            "error": {
                "type": "object",
                "properties": {
                    "code": {
                        "type": "string",
                        "description": format!("The codes this may answer: {} (PROTOCOL.md).", codes.join(", ")),
                        "examples": codes,
                    },
                    "message": { "type": "string" },
                    "details": { "description": "What the handler attached for the client's program (SocketError::with_details), if anything." },
                },
                "required": ["code", "message"],
            },
            "correlationId": { "type": "string", "maxLength": 128 },
        },
        "required": ["type", "error"],
    })
}

/// `schema` with `#/definitions/X` references pointing at `#/components/schemas/X`.
fn with_component_refs(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| {
                    let value = match (key.as_str(), value) {
                        ("$ref", Value::String(r)) => match r.strip_prefix("#/definitions/") {
                            Some(name) => Value::String(format!("#/components/schemas/{name}")),
                            None => value.clone(),
                        },
                        _ => with_component_refs(value),
                    };
                    (key.clone(), value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(with_component_refs).collect()),
        other => other.clone(),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim()
}
