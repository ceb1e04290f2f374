//! The TypeScript client (`clients/typescript`): its type check (`tsc`, strict),
//! the type tests of the examples' generated clients, and its tests (Node's
//! test runner) against the client tests' app run as a real server
//! (`client_peer`, which they kill and restart), including the validation of
//! the examples' AsyncAPI documents with the official parser; and the chat
//! example's page in a real browser (Chromium, headless, playwright-core). Needs Node and
//! npm; without them the tests fail, saying what to install (or, with
//! `ORI_SKIP_MISSING=1` outside CI, are skipped).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

fn package() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../clients/typescript")
}

/// Installs the package's pinned dev dependencies (`npm ci`) once; `false`
/// (after saying why) where Node is missing outside CI.
fn npm_ready() -> bool {
    static INSTALLED: Mutex<bool> = Mutex::new(false);
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if *installed {
        return true;
    }
    if Command::new("npm").arg("--version").output().is_err() {
        ori_tests::tool_missing("node/npm not found, and the TypeScript client's tests need Node 20 and npm");
        return false;
    }
    let dir = package();
    let lock_changed = std::fs::metadata(dir.join("package-lock.json")).and_then(|m| m.modified()).ok();
    let installed_at =
        std::fs::metadata(dir.join("node_modules/.package-lock.json")).and_then(|m| m.modified()).ok();
    if installed_at.is_none() || installed_at < lock_changed {
        run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir), "npm ci");
    }
    *installed = true;
    true
}

/// How long a run of npm may take: a test that hangs (a client left
/// reconnecting after a failed assertion keeps Node alive) fails the run
/// instead of holding CI.
const NPM_DEADLINE: std::time::Duration = std::time::Duration::from_secs(600);

/// Runs `command` (npm, and the node processes it starts) in a process
/// group of its own, killed whole past [`NPM_DEADLINE`]; panics with its
/// output unless it succeeds.
fn run(command: &mut Command, what: &str) {
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    let mut child = command
        .process_group(0)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped")));
    let deadline = std::time::Instant::now() + NPM_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child's status") {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            let _ = Command::new("kill").args(["-KILL", &format!("-{}", child.id())]).status();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let (stdout, stderr) = (stdout.join().unwrap_or_default(), stderr.join().unwrap_or_default());
    match status {
        Some(status) if status.success() => {}
        Some(status) => panic!("{what} failed ({status}):\n{stdout}\n{stderr}"),
        None => panic!("{what} did not finish within {NPM_DEADLINE:?} (killed):\n{stdout}\n{stderr}"),
    }
}

#[test]
fn typescript_client_type_checks() {
    if !npm_ready() {
        return;
    }
    run(
        Command::new("npx").args(["--no-install", "tsc", "-p", "tsconfig.json"]).current_dir(package()),
        "tsc",
    );
}

/// The examples' generated clients type-check against the runtime, and
/// misusing them does not (`clients/typescript/test/types`).
#[test]
fn generated_clients_type_check_and_misuse_does_not() {
    if !npm_ready() {
        return;
    }
    run(
        Command::new("npx")
            .args(["--no-install", "tsc", "-p", "test/types/tsconfig.json"])
            .current_dir(package()),
        "tsc -p test/types (the type tests of the generated clients)",
    );
}

#[test]
fn typescript_client_against_a_real_server() {
    if !npm_ready() {
        return;
    }
    run(
        Command::new("npm")
            .args(["test", "--silent"])
            .env("ORI_CLIENT_PEER", env!("CARGO_BIN_EXE_client_peer"))
            .current_dir(package()),
        "the TypeScript client's tests (npm test)",
    );
}

/// The chat example's page in headless Chromium (`CHROMIUM`, default
/// `/usr/bin/chromium`): two pages talk, survive a server restart, a
/// reloaded page shows the last messages, and a refused page shows why; two
/// presence pages on two instances (one Redis) show one member list, and a
/// killed instance's members leave (`clients/typescript/test/browser`).
#[test]
fn the_chat_page_works_in_a_real_browser() {
    if !npm_ready() {
        return;
    }
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    if !Path::new(&chromium).exists() {
        ori_tests::tool_missing(&format!(
            "no Chromium at {chromium}, and the browser tests need it (apt-get install chromium)"
        ));
        return;
    }
    run(
        Command::new("npm")
            .args(["run", "test:browser", "--silent"])
            .env("ORI_CHAT_PEER", env!("CARGO_BIN_EXE_chat_peer"))
            .env("ORI_PRESENCE_PEER", env!("CARGO_BIN_EXE_presence_example_peer"))
            .env("CHROMIUM", &chromium)
            .current_dir(package()),
        "the browser tests (npm run test:browser)",
    );
}

#[allow(unreachable_pub)]
mod hostile {
    //! A router whose message types are no TypeScript identifiers, whose
    //! handler names collide with the client class's members, and whose
    //! types share a name across modules.
    use ori::prelude::*;

    pub mod a {
        /// An `Item` of module `a`.
        #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
        pub struct Item {
            /// A field whose name is no identifier.
            #[serde(rename = "my-field")]
            pub field: u32,
        }
    }

    pub mod b {
        /// An `Item` of module `b`, another type.
        #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
        pub struct Item {
            /// A list.
            pub names: Vec<String>,
        }
    }

    /// An enum with data (a union in TypeScript).
    #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
    #[serde(tag = "kind", rename_all = "snake_case")]
    pub enum Shape {
        /// A circle.
        Circle { radius: f64 },
        /// Nothing.
        Empty,
    }

    #[injectable]
    pub struct HostileRouter;

    #[socket_router]
    impl HostileRouter {
        /// Dashes, colons and a class member's name.
        #[on("odd:type-name.v2")]
        async fn on(&self, data: a::Item) -> b::Item {
            b::Item { names: vec![data.field.to_string()] }
        }

        /// `*/` in a doc comment must not end it, nor in an error code.
        #[on("9.client", errors = ["quo\"te", "x*/y"])]
        async fn client(&self, data: Shape) -> Option<a::Item> {
            matches!(data, Shape::Empty).then_some(a::Item { field: 0 })
        }
    }
}

/// Route types that are no identifiers, handler names that are the class's
/// own members, and two types named `Item`: the generated module is still
/// valid TypeScript (checked by `tsc --strict`), deterministic, with
/// distinct names.
#[test]
fn generated_typescript_survives_hostile_names() {
    if !npm_ready() {
        return;
    }
    let app = ori::Ori::create()
        .websocket(ori::WebSocketConfig::default())
        .only_socket_router::<hostile::HostileRouter>();
    let runtime = package().join("src/index.js");
    let options =
        ori::describe::typescript::Options::new("HostileApi").runtime(runtime.display().to_string());
    let module = app.describe().typescript(&options);
    assert_eq!(module, app.describe().typescript(&options), "deterministic");
    for expected in [
        "export interface Item {",
        "export interface Item2 {",
        "\"my-field\": number;",
        "\"odd:type-name.v2\": { data: Item; reply: Item2; errors: \"bad_request\" | \"internal\" };",
        "errors: \"bad_request\" | \"internal\" | \"quo\\\"te\" | \"x*/y\" }",
        "on2(data: Item, options?: RequestOptions): Promise<Item2>",
        "client2(data: Shape, options?: RequestOptions): Promise<Item | null>",
        "`*\\/` in a doc comment",
    ] {
        assert!(module.contains(expected), "missing {expected:?} in:\n{module}");
    }
    let dir = std::env::temp_dir().join(format!("ori-hostile-ts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("hostile_api.ts");
    std::fs::write(&file, &module).expect("written");
    let javascript = dir.join("hostile_api.js");
    std::fs::write(&javascript, app.describe().javascript(&options)).expect("written");
    run(
        Command::new("npx")
            .args(["--no-install", "tsc", "--noEmit", "--strict", "--allowJs", "--skipLibCheck"])
            .args(["--target", "ES2022", "--module", "NodeNext", "--moduleResolution", "NodeNext"])
            .arg(&file)
            .arg(&javascript)
            .current_dir(package()),
        "tsc over the generated modules (TypeScript and JavaScript) of hostile names",
    );
    let _ = std::fs::remove_dir_all(&dir);
}
