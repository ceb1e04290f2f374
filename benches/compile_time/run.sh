#!/usr/bin/env bash
# Compile time of ori's macros (issue 28), measured as a user meets it: an app
# of 100 handlers in 10 `#[socket_router]`s ("macros") against the same 100
# handlers registered with `SocketRoutes::route_with` ("plain"), each a crate
# of its own outside the workspace, depending on this checkout by path.
#
#   benches/compile_time/run.sh [runs] [ori features]
#
# runs (default 5): interleaved rounds. Each round, for each app: a clean
# `cargo build` of the app's crate alone (its dependencies stay built), then
# (after an untimed check) an incremental `cargo check` and an incremental
# `cargo build`, each after touching one router's file. Prints every time, then the medians and the
# ratio macros / plain. The apps go to $OUT (default /tmp/ori-compile-time);
# the dev profile, as `cargo check`/`cargo build` use while writing code.
# ori features: e.g. "schema" (default: the crate's defaults).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
runs=${1:-5}
features=${2:-}
out=${OUT:-/tmp/ori-compile-time}
routers=10
handlers=10

features_toml=""
if [ -n "$features" ]; then
  features_toml=", features = [$(printf '"%s",' $features | sed 's/,$//')]"
fi

# app NAME: the crate's manifest and main.rs.
app() {
  local dir="$out/$1"
  mkdir -p "$dir/src"
  cat > "$dir/Cargo.toml" <<TOML
[package]
name = "compile-time-$1"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
ori = { package = "ori-ws", path = "$repo/ori"$features_toml }
serde = { version = "1", features = ["derive"] }
tokio = { version = "1", features = ["rt-multi-thread", "macros"] }

[workspace]
TOML
  # Share one target directory: dependencies are built once for both apps.
  mkdir -p "$dir/.cargo"
  printf '[build]\ntarget-dir = "%s/target"\n' "$out" > "$dir/.cargo/config.toml"
}

# types R: the data and reply types of router R's handlers.
types() {
  local r=$1 h
  echo "use serde::{Deserialize, Serialize};"
  for h in $(seq 0 $((handlers - 1))); do
    cat <<RS

/// What \`r$r.h$h\` reads.
#[derive(Debug, Deserialize)]
pub struct In$h {
    pub id: u64,
    pub text: String,
    pub tags: Vec<String>,
}

/// What \`r$r.h$h\` replies.
#[derive(Debug, Serialize)]
pub struct Out$h {
    pub id: u64,
    pub length: usize,
}
RS
  done
}

# handler H: the method of handler H, the same in both apps.
handler() {
  local h=$1
  echo "    async fn h$h(&self, ctx: SocketContext, data: In$h) -> Result<Out$h, SocketError> {"
  echo "        if data.tags.len() > 100 { return Err(SocketError::bad_request(\"too many tags\")); }"
  echo "        let _ = ctx.id();"
  echo "        Ok(Out$h { id: data.id + $h, length: data.text.len() })"
  echo "    }"
}

generate() {
  rm -rf "$out/macros/src" "$out/plain/src"
  app macros
  app plain
  local r h
  {
    echo "use ori::prelude::*;"
    for r in $(seq 0 $((routers - 1))); do echo "mod r$r;"; done
    cat <<RS

#[tokio::main]
async fn main() -> Result<(), ori::Error> {
    let app = Ori::create().websocket(WebSocketConfig::default());
    println!("{}", app.describe().routes.len());
    Ok(())
}
RS
  } > "$out/macros/src/main.rs"
  {
    echo "use ori::prelude::*;"
    for r in $(seq 0 $((routers - 1))); do echo "mod r$r;"; done
    echo
    echo "#[tokio::main]"
    echo "async fn main() -> Result<(), ori::Error> {"
    echo "    let app = Ori::create()"
    echo "        .discover(false)"
    echo "        .websocket(WebSocketConfig::default())"
    for r in $(seq 0 $((routers - 1))); do echo "        .socket_routes(r$r::routes())"; done
    echo "        ;"
    echo "    println!(\"{}\", app.describe().routes.len());"
    echo "    Ok(())"
    echo "}"
  } > "$out/plain/src/main.rs"
  for r in $(seq 0 $((routers - 1))); do
    {
      echo "use ori::prelude::*;"
      types "$r"
      echo
      echo "#[injectable]"
      echo "pub struct Router$r;"
      echo
      echo "#[socket_router]"
      echo "impl Router$r {"
      for h in $(seq 0 $((handlers - 1))); do
        echo "    /// Handler $h of router $r."
        echo "    #[on(\"r$r.h$h\")]"
        handler "$h"
      done
      echo "}"
    } > "$out/macros/src/r$r.rs"
    {
      echo "use std::sync::Arc;"
      echo "use ori::prelude::*;"
      types "$r"
      echo
      echo "/// Router $r's state."
      echo "pub struct Router$r;"
      echo
      echo "impl Router$r {"
      for h in $(seq 0 $((handlers - 1))); do
        handler "$h"
      done
      echo "}"
      echo
      echo "/// Router $r's routes."
      echo "pub fn routes() -> SocketRoutes {"
      echo "    let router = Arc::new(Router$r);"
      echo "    SocketRoutes::named(\"Router$r\")"
      for h in $(seq 0 $((handlers - 1))); do
        echo "        .route_with(\"r$r.h$h\", router.clone(), |r: Arc<Router$r>, ctx: SocketContext, data: In$h| async move { r.h$h(ctx, data).await })"
      done
      echo "}"
    } > "$out/plain/src/r$r.rs"
  done
}

# timed COMMAND...: runs it in the current directory, prints seconds.
timed() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>"$out/last.log" || { cat "$out/last.log" >&2; exit 1; }
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}

median() {
  sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'
}

generate
echo "apps in $out (features: ${features:-default}); building dependencies once"
for name in macros plain; do (cd "$out/$name" && cargo build -q && cargo check -q); done

declare -A times
for round in $(seq 1 "$runs"); do
  for name in macros plain; do
    cd "$out/$name"
    cargo clean -q -p "compile-time-$name"
    clean=$(timed cargo build)
    # The clean removed the check's incremental state too: one untimed
    # check makes the timed one incremental, as while writing code.
    cargo check -q
    touch src/r3.rs
    check=$(timed cargo check)
    touch src/r3.rs
    build=$(timed cargo build)
    times[$name.clean]+="$clean "
    times[$name.check]+="$check "
    times[$name.build]+="$build "
    printf 'round %s %-6s clean build %6.2f s  incremental check %6.2f s  incremental build %6.2f s\n' \
      "$round" "$name" "$clean" "$check" "$build"
  done
done

echo
printf '%-18s %8s %8s %8s\n' "median" macros plain ratio
for what in clean check build; do
  m=$(echo "${times[macros.$what]}" | tr ' ' '\n' | grep . | median)
  p=$(echo "${times[plain.$what]}" | tr ' ' '\n' | grep . | median)
  printf '%-18s %8.2f %8.2f %8.3f\n' "$what" "$m" "$p" "$(echo "$m / $p" | bc -l)"
done
