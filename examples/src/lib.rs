//! Shared by ori's examples. Each example is `examples/<name>/main.rs` around
//! the app in `examples/<name>/app.rs`; the integration tests compile the same
//! `app.rs` and serve it, so every example is tested as it ships. (Apps live
//! beside their binary, not in this library, so that each binary registers
//! only its own routers and providers.)

/// Serves `app` on `ORI_ADDR` (default `127.0.0.1:3000`) until ctrl-c or
/// SIGTERM, logging through `tracing` at INFO (ori says what it mounted and
/// where it listens), or at the level `ORI_LOG` names (`off`: no subscriber).
pub async fn run(name: &str, app: ori::Ori) -> Result<(), ori::Error> {
    let level = std::env::var("ORI_LOG").unwrap_or_else(|_| "info".to_owned());
    let level: tracing_subscriber::filter::LevelFilter =
        level.parse().map_err(|_| ori::Error::InvalidConfig(format!("ORI_LOG={level} is not a level")))?;
    if level != tracing_subscriber::filter::LevelFilter::OFF {
        // Colours only on a terminal: logs piped to a file or a collector stay plain.
        let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
        tracing_subscriber::fmt().with_target(false).with_max_level(level).with_ansi(ansi).init();
    }
    let addr = std::env::var("ORI_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let server = app.bind(&addr).await?;
    println!("{name}: ctrl-c to stop");
    server.serve().await
}

/// `app` with its pub/sub backend from the environment: `ORI_PUBSUB_URL`
/// picks it ([`ori::pubsub::from_url`]: `redis://host:port`, `nats://host:port`),
/// so every instance started with the same URL serves the same topics.
/// `ORI_REDIS_URL` is read too, as before; with Redis,
/// `ORI_PRESENCE_EXPIRY_MS` says how soon a dead instance's members leave.
///
/// Unset: in process. Run with the backend's feature (`cargo run -p
/// ori-examples --features redis --example ...`, or `nats`).
pub fn pubsub_from_env(app: ori::Ori) -> Result<ori::Ori, ori::Error> {
    pubsub_from_env_needing(app, &[])
}

/// [`pubsub_from_env`] for an example that needs `capabilities` of its
/// backend: one that lacks one is a start-up error naming it and the URLs
/// that have it. `ORI_PRESENCE_EXPIRY_MS` sets the presence expiry of a
/// Redis or NATS backend.
pub fn pubsub_from_env_needing(
    app: ori::Ori,
    capabilities: &[ori::pubsub::Capability],
) -> Result<ori::Ori, ori::Error> {
    let url = std::env::var("ORI_PUBSUB_URL").or_else(|_| std::env::var("ORI_REDIS_URL"));
    let Ok(url) = url else {
        return Ok(app);
    };
    let expiry = match std::env::var("ORI_PRESENCE_EXPIRY_MS") {
        Ok(ms) => Some(std::time::Duration::from_millis(ms.parse().map_err(|_| {
            ori::Error::InvalidConfig(format!("ORI_PRESENCE_EXPIRY_MS={ms} is not a number of milliseconds"))
        })?)),
        Err(_) => None,
    };
    #[cfg(feature = "redis")]
    if let Some(expiry) = expiry
        && (url.starts_with("redis://") || url.starts_with("redis+cluster://"))
    {
        return Ok(app.pubsub(ori::pubsub::RedisBackend::builder(url).presence_expiry(expiry).build()));
    }
    #[cfg(feature = "nats")]
    if let Some(expiry) = expiry
        && url.starts_with("nats://")
    {
        return Ok(app.pubsub(ori::pubsub::NatsBackend::builder(url).presence_expiry(expiry).build()));
    }
    // Checked all the same: a bad value is an error whatever the backend.
    #[cfg(not(any(feature = "redis", feature = "nats")))]
    let _ = expiry;
    let backend = ori::pubsub::from_url(&url).map_err(|error| {
        let why = match error {
            ori::Error::InvalidConfig(why) => why,
            other => other.to_string(),
        };
        ori::Error::InvalidConfig(format!(
            "ORI_PUBSUB_URL: {why} (the examples: run with `--features redis` or `nats`)"
        ))
    })?;
    let offered = backend.capabilities();
    if let Some(missing) = capabilities.iter().find(|capability| !offered.has(**capability)) {
        return Err(ori::Error::InvalidConfig(format!(
            "ORI_PUBSUB_URL: {} lacks {missing:?}, which this example needs (use `redis://`, `redis+cluster://` or `nats://`)",
            backend.name()
        )));
    }
    Ok(app.pubsub(backend))
}

/// The files generated from an example's app: its typed client as
/// TypeScript and as JavaScript (for its page, loaded as it is) and its
/// AsyncAPI document, committed beside the example (`examples/<name>/<name>_api.ts`,
/// `<name>_api.js`, `asyncapi.json`) and checked by the tests to match the
/// app byte for byte.
#[derive(Debug)]
pub struct Generated {
    /// Where the files go: `examples/<name>/`.
    pub dir: std::path::PathBuf,
    /// The TypeScript module's file name.
    pub typescript_file: String,
    /// The TypeScript module.
    pub typescript: String,
    /// The JavaScript module's file name.
    pub javascript_file: String,
    /// The JavaScript module (JSDoc types).
    pub javascript: String,
    /// The AsyncAPI document (pretty JSON).
    pub asyncapi: String,
}

impl Generated {
    /// The files on disk that differ from what the app generates now, with
    /// the command that regenerates them (empty when all are current).
    pub fn stale(&self, name: &str) -> Vec<String> {
        self.files()
            .into_iter()
            .filter(|(file, expected)| std::fs::read_to_string(self.dir.join(file)).ok().as_deref() != Some(*expected))
            .map(|(file, _)| {
                format!(
                    "{} is stale or missing: regenerate it with `cargo run -p ori-examples --example {name} -- generate`",
                    self.dir.join(file).display()
                )
            })
            .collect()
    }

    /// Each file's name and contents.
    pub fn files(&self) -> [(&str, &str); 3] {
        [
            (&self.typescript_file, &self.typescript),
            (&self.javascript_file, &self.javascript),
            ("asyncapi.json", &self.asyncapi),
        ]
    }
}

/// What [`Generated`] holds for the example `name` whose client class is `class`.
pub fn generated(app: &ori::Ori, name: &str, class: &str) -> Generated {
    let description = app.describe();
    let options = ori::describe::typescript::Options::new(class)
        .runtime("../../clients/typescript/src/index.js")
        .command(format!("cargo run -p ori-examples --example {name} -- generate"));
    let asyncapi = description.asyncapi(name, env!("CARGO_PKG_VERSION"));
    Generated {
        dir: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name),
        typescript_file: format!("{name}_api.ts"),
        typescript: description.typescript(&options),
        javascript_file: format!("{name}_api.js"),
        javascript: description.javascript(&options),
        asyncapi: serde_json::to_string_pretty(&asyncapi).expect("JSON") + "\n",
    }
}

/// `cargo run --example NAME -- generate` writes the example's generated
/// files (see [`Generated`]); `-- generate --package DIR` writes its
/// TypeScript client into `DIR` as a project on the npm package gets it
/// (importing `ori-ws-client`; CI type-checks it against the packed
/// tarball). Returns whether it was asked to (then the example exits
/// instead of serving).
pub fn generate_if_asked(app: &ori::Ori, name: &str, class: &str) -> std::io::Result<bool> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some("generate") {
        return Ok(false);
    }
    if let [_, flag, dir] = args.as_slice()
        && flag == "--package"
    {
        // As a project that installs the published client would generate it:
        // the default options import `ori-ws-client`.
        let options = ori::describe::typescript::Options::new(class);
        let path = std::path::Path::new(dir).join(format!("{name}_api.ts"));
        std::fs::write(&path, app.describe().typescript(&options))?;
        println!("wrote {}", path.display());
        return Ok(true);
    }
    let generated = generated(app, name, class);
    for (file, contents) in generated.files() {
        let path = generated.dir.join(file);
        std::fs::write(&path, contents)?;
        println!("wrote {}", path.display());
    }
    Ok(true)
}

/// The client runtime (`clients/typescript/src`), served as it is at
/// `/clients/typescript/src/<file>`: where the examples' generated clients
/// (`/examples/<name>/<name>_api.js`) find it by their relative import.
pub fn client_runtime() -> axum::Router<ori::AppContext> {
    axum::Router::new().route("/clients/typescript/src/{file}", axum::routing::get(runtime_file))
}

async fn runtime_file(axum::extract::Path(file): axum::extract::Path<String>) -> axum::response::Response {
    let source = match file.as_str() {
        "index.js" => include_str!("../../clients/typescript/src/index.js"),
        "client.js" => include_str!("../../clients/typescript/src/client.js"),
        "errors.js" => include_str!("../../clients/typescript/src/errors.js"),
        "backoff.js" => include_str!("../../clients/typescript/src/backoff.js"),
        "msgpack.js" => include_str!("../../clients/typescript/src/msgpack.js"),
        "presence.js" => include_str!("../../clients/typescript/src/presence.js"),
        "topics.js" => include_str!("../../clients/typescript/src/topics.js"),
        _ => return axum::response::IntoResponse::into_response(axum::http::StatusCode::NOT_FOUND),
    };
    axum::response::IntoResponse::into_response(javascript(source))
}

/// A JavaScript module, as it is.
pub fn javascript(source: &'static str) -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "text/javascript; charset=utf-8")], source)
}
