#!/usr/bin/env bash
# User-space instructions per operation of ori's benchmark server, counted
# by callgrind, as the number of worker threads grows.
#
#   benches/callgrind/run.sh [server] [workers...]
#
# server: a release `bench_server` (default: target/release/examples/bench_server,
# built with `cargo build --release -p ori-examples --example bench_server`).
# workers: default "1 2 4".
# WORKLOADS: default "fanout1 fanout20 rpc":
#   fanout1   loadgen fanout --subs 200 --topics 1    (per delivery)
#   fanout20  loadgen fanout --subs 200 --topics 20   (per delivery)
#   rpc       loadgen rpc --conns 16 --window 8       (per reply)
# SHORT/LONG: the two run lengths in seconds (default 3 and 7).
#
# Under callgrind the server runs 30-50x slower, so it is the bottleneck and
# the count does not depend on the machine's load. Each figure is the
# difference of two runs (LONG and SHORT seconds) over the difference of
# their operations, so start-up and connecting cancel out. callgrind counts
# every thread, so cross-worker wake-ups are included.
# Needs valgrind and the load generator of ../shared/bench (built here if absent).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
server="${1:-$root/target/release/examples/bench_server}"
shift || true
workers=("${@:-1 2 4}")
read -r -a workers <<<"${workers[*]}"
workloads="${WORKLOADS:-fanout1 fanout20 rpc}"
short="${SHORT:-3}"; long="${LONG:-7}"
out="${OUT:-/tmp/ori-callgrind}"; mkdir -p "$out"
port="${PORT:-18097}"
url="ws://127.0.0.1:$port/ws?token=bench"
loadgen="${LOADGEN:-/tmp/ori-bench/target/release/loadgen}"
if [ ! -x "$loadgen" ]; then
  CARGO_TARGET_DIR=/tmp/ori-bench/target cargo build --release --quiet \
    --manifest-path "$root/../shared/bench/Cargo.toml"
fi
command -v valgrind >/dev/null || { echo "valgrind is missing (apt-get install valgrind)" >&2; exit 1; }

# Prints "instructions operations" for one run.
measure() {
  local workers=$1 workload=$2 secs=$3 file="$out/cg.$1.$2.$3"
  rm -f "$file"
  ORI_WORKERS=$workers ORI_ADDR=127.0.0.1:$port valgrind --tool=callgrind \
    --callgrind-out-file="$file" "$server" >"$out/server.log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.2
  done
  local json key
  case $workload in
    fanout1) json=$("$loadgen" fanout --url "$url" --subs 200 --topics 1 --secs "$secs" --warmup 1 --payload-bytes 64 | tail -1); key=expected_deliveries ;;
    fanout20) json=$("$loadgen" fanout --url "$url" --subs 200 --topics 20 --secs "$secs" --warmup 1 --payload-bytes 64 | tail -1); key=expected_deliveries ;;
    rpc) json=$("$loadgen" rpc --url "$url" --conns 16 --window 8 --secs "$secs" --warmup 1 --payload-bytes 64 | tail -1); key=replies ;;
    *) echo "unknown workload $workload" >&2; exit 1 ;;
  esac
  kill -INT $pid; wait $pid || true
  local ops instructions
  ops=$(grep -o "\"$key\":[0-9.]*" <<<"$json" | cut -d: -f2)
  instructions=$(awk '/^totals:/ {print $2; exit}' "$file")
  echo "$instructions ${ops%.*}"
}

printf '%-9s %-8s %14s %12s\n' workload workers "instr/op" "vs 1 worker"
for workload in $workloads; do
  base=""
  for w in "${workers[@]}"; do
    read -r i1 o1 < <(measure "$w" "$workload" "$short")
    read -r i2 o2 < <(measure "$w" "$workload" "$long")
    per=$(( (i2 - i1) / (o2 - o1) ))
    [ -z "$base" ] && base=$per
    printf '%-9s %-8s %14s %11.2fx\n' "$workload" "$w" "$per" "$(bc -l <<<"$per / $base")"
  done
done
