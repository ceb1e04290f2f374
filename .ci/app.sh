# Sourced by .ci/fresh-crates and .ci/typescript-package: an app in the
# background, for a client to talk to.

app_pid=""

# start_app BINARY LOG: runs BINARY (an ori app), its stderr to LOG, and
# returns once it says it listens; fails (printing LOG) if it exits first.
start_app() {
  "$1" 2>"$2" &
  app_pid=$!
  for _ in $(seq 1 100); do
    grep -q "listening on" "$2" && return 0
    kill -0 "$app_pid" 2>/dev/null || { cat "$2"; echo "$1 exited before listening" >&2; exit 1; }
    sleep 0.1
  done
  cat "$2"
  echo "$1 did not listen within 10 s" >&2
  exit 1
}

# stop_app: stops the app start_app started (if any).
stop_app() {
  [ -n "$app_pid" ] || return 0
  kill "$app_pid" 2>/dev/null || true
  wait "$app_pid" 2>/dev/null || true
  app_pid=""
}
