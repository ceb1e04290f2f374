#!/usr/bin/env bash
# ori's wire benchmarks, side by side with Bun, driven by one client of our
# own (client.mjs, Node + ws: the shared load generator speaks neither
# permessage-deflate, MessagePack nor wss://). The server is pinned to core 0,
# the client to core 1; each workload runs ROUNDS interleaved rounds with a
# fresh server per run and prints the median of each figure.
#
#   benches/wire/run.sh                      # everything
#   WORKLOADS="deflate_fanout tls_rpc" ROUNDS=1 SECS=3 benches/wire/run.sh
#
# Workloads:
#   deflate_fanout  1000 subscribers that negotiated permessage-deflate, one
#                   publisher, ~2 KiB JSON: server CPU per delivery, ori vs Bun
#                   (perMessageDeflate: true)
#   deflate_idle    2000 idle connections, ori with and without deflate: KiB per connection
#   msgpack_rpc     64 x 16 bench.echo in flight, ori: JSON vs MessagePack replies/s
#   tls_connect     wss:// open + ping + close, 32 at a time: handshakes/s, ori vs Bun
#   tls_rpc         rpc over wss://: replies/s, ori vs Bun
# "server us/op" = server CPU time / operations (the comparable figure when
# the client's core saturates).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${BENCH_WORK:-/tmp/ori-wire-bench}
SECS=${SECS:-6}
ROUNDS=${ROUNDS:-3}
WORKLOADS=${WORKLOADS:-"deflate_fanout deflate_idle msgpack_rpc tls_connect tls_rpc"}
PORT=${PORT:-9401}
mkdir -p "$work"

(cd "$here" && npm ci --no-audit --no-fund --ignore-scripts --silent)
BUN=$here/node_modules/@oven/bun-linux-x64/bin/bun
[ -x "$BUN" ] || { echo "no Bun binary at $BUN" >&2; exit 2; }
(cd "$repo" && cargo build --release -q -p ori-examples --features tls --example bench_server)
ORI=$repo/target/release/examples/bench_server
if [ ! -f "$work/cert.pem" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
fi
tick_us=$((1000000 / $(getconf CLK_TCK)))
ulimit -n 100000 2>/dev/null || true

# start NAME [VAR=value ...]: starts a server on $PORT pinned to core 0; prints its pid.
start() {
  local name=$1; shift
  local cmd
  case "$name" in
    ori) cmd="$ORI" ;;
    bun) cmd="$BUN $here/peer_bun.ts" ;;
  esac
  ( env "$@" PORT=$PORT ORI_ADDR=127.0.0.1:$PORT taskset -c 0 $cmd ) >"$work/$name.log" 2>&1 </dev/null &
  local pid=$!
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && { echo "$pid"; return; }
    sleep 0.1
  done
  echo "$name did not start; see $work/$name.log" >&2; exit 1
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
client() { taskset -c 1 node "$here/client.mjs" "$@"; }
field() { node -e "const r=JSON.parse(process.argv[1]); console.log(r['$2'] ?? '')" "$1"; }

# measure SERVER_PID CLIENT_ENV... -- MODE: runs the client, prints "rate us_per_op extra"
measure() {
  local pid=$1; shift
  local before after out
  before=$(cpu "$pid")
  out=$(env "$@" taskset -c 1 node "$here/client.mjs" "$MODE" 2>&1 | tail -1)
  after=$(cpu "$pid")
  local ops rate
  ops=$(field "$out" ops); rate=$(field "$out" rate)
  echo "$rate $(( (after - before) * tick_us * 1000 / (ops > 0 ? ops : 1) )) $out"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : 0)}'; }

declare -A rates cpus
record() { rates[$1]+="$2"$'\n'; cpus[$1]+="$3"$'\n'; }
report() { # label...
  printf '%-28s %14s %16s\n' "" "ops/s (median)" "server us/op"
  for label in "$@"; do
    local r c
    r=$(printf '%s' "${rates[$label]}" | median)
    c=$(printf '%s' "${cpus[$label]}" | median)
    printf '%-28s %14.0f %16.3f\n' "$label" "$r" "$(echo "$c / 1000" | bc -l)"
  done
}

run_pair() { # label server-name server-env client-env...
  local label=$1 name=$2 senv=$3; shift 3
  local pid line
  pid=$(start "$name" $senv)
  line=$(measure "$pid" "$@")
  stop "$pid"
  record "$label" "$(echo "$line" | cut -d' ' -f1)" "$(echo "$line" | cut -d' ' -f2)"
  echo "  $label: $(echo "$line" | cut -d' ' -f3-)"
}

for w in $WORKLOADS; do
  echo "== $w ($ROUNDS rounds x ${SECS}s)"
  for r in $(seq 1 "$ROUNDS"); do
    case "$w" in
      deflate_fanout)
        MODE=fanout
        run_pair "ori deflate" ori "ORI_COMPRESSION=on" URL=ws://127.0.0.1:$PORT/ws?token=bench DEFLATE=1 SUBS=1000 PAYLOAD=2048 SECS=$SECS
        run_pair "bun perMessageDeflate" bun "DEFLATE=1" URL=ws://127.0.0.1:$PORT/ DEFLATE=1 SUBS=1000 PAYLOAD=2048 SECS=$SECS ;;
      msgpack_rpc)
        MODE=rpc
        run_pair "ori json" ori "" URL=ws://127.0.0.1:$PORT/ws?token=bench CODEC=json SECS=$SECS
        run_pair "ori msgpack" ori "" URL=ws://127.0.0.1:$PORT/ws?token=bench CODEC=msgpack SECS=$SECS ;;
      tls_connect)
        MODE=connect
        run_pair "ori wss connect" ori "ORI_TLS_CERT=$work/cert.pem ORI_TLS_KEY=$work/key.pem" URL=wss://127.0.0.1:$PORT/ws?token=bench CA=$work/cert.pem SECS=$SECS
        run_pair "bun wss connect" bun "TLS_CERT=$work/cert.pem TLS_KEY=$work/key.pem" URL=wss://127.0.0.1:$PORT/ CA=$work/cert.pem SECS=$SECS ;;
      tls_rpc)
        MODE=rpc
        run_pair "ori wss rpc" ori "ORI_TLS_CERT=$work/cert.pem ORI_TLS_KEY=$work/key.pem" URL=wss://127.0.0.1:$PORT/ws?token=bench CA=$work/cert.pem SECS=$SECS
        run_pair "bun wss rpc" bun "TLS_CERT=$work/cert.pem TLS_KEY=$work/key.pem" URL=wss://127.0.0.1:$PORT/ CA=$work/cert.pem SECS=$SECS ;;
      deflate_idle)
        for mode in off on; do
          pid=$(start ori "ORI_COMPRESSION=$([ $mode = on ] && echo on || echo off)")
          before=$(rss_kib "$pid")
          coproc IDLE { env URL=ws://127.0.0.1:$PORT/ws?token=bench DEFLATE=$([ $mode = on ] && echo 1 || echo 0) CONNS=2000 taskset -c 1 node "$here/client.mjs" idle; }
          read -r opened <&"${IDLE[0]}"
          sleep 1
          after=$(rss_kib "$pid")
          exec {IDLE[1]}>&-
          wait "$IDLE_PID" 2>/dev/null || true
          stop "$pid"
          per=$(echo "($after - $before) / 2000" | bc -l)
          record "ori idle deflate $mode" "$per" 0
          echo "  ori idle, deflate $mode: $opened; $(printf '%.2f' "$per") KiB/conn"
        done ;;
    esac
  done
  case "$w" in
    deflate_fanout) report "ori deflate" "bun perMessageDeflate" ;;
    msgpack_rpc) report "ori json" "ori msgpack" ;;
    tls_connect) report "ori wss connect" "bun wss connect" ;;
    tls_rpc) report "ori wss rpc" "bun wss rpc" ;;
    deflate_idle)
      for label in "ori idle deflate off" "ori idle deflate on"; do
        printf '%-28s %10.2f KiB/conn (median)\n' "$label" "$(printf '%s' "${rates[$label]}" | median)"
      done ;;
  esac
done
