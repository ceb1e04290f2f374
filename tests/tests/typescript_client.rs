//! The TypeScript client (`clients/typescript`): its type check (`tsc`, strict)
//! and its tests (Node's test runner) against the client tests' app run as a
//! real server (`client_peer`), which they kill and restart. Needs Node and
//! npm; without them the tests say so loudly, and fail under `CI=true`.

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
        let message = "node/npm not found: the TypeScript client's tests need Node 20 and npm";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
        eprintln!("SKIPPED: {message}");
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

fn run(command: &mut Command, what: &str) {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
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
