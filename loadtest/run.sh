#!/usr/bin/env bash
# Measures ardoise and the reference Node server (@y/websocket-server, pinned in
# loadtest/reference/package-lock.json) side by side, in one run, with the load shapes of
# PEERS.md: each server pinned to core 0, the load generator to core 1, a fresh server per
# scenario, traffic on 127.0.0.1 only. Prints a Markdown table; the JSON reports, logs and a
# description of the machine stay in the output directory.
#
#   loadtest/run.sh [--scenarios "a b c d e"] [--servers "ardoise reference"]
#                   [--duration-secs N] [--out DIR] [--no-build] [-- extra loadtest flags]
#
# For each scenario, every server is measured before the next scenario starts, so that a change
# in the machine's background load affects both sides alike.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scenarios="a b c d e"
servers="ardoise reference"
duration=""
out=""
build=1
extra=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --scenarios) scenarios=$2; shift 2 ;;
        --servers) servers=$2; shift 2 ;;
        --duration-secs) duration=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --no-build) build=0; shift ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
out=${out:-$root/target/loadtest/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"

if [[ $(nproc) -ge 2 ]]; then
    pin_server=(taskset -c 0)
    pin_load=(taskset -c 1)
else
    echo "run.sh: fewer than 2 cores: server and load generator are not pinned" >&2
    pin_server=()
    pin_load=()
fi
# Thousands of sockets on both sides.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

cd "$root"
if [[ $build -eq 1 ]]; then
    cargo build --release -p ardoise -p loadtest
fi
if [[ " $servers " == *" reference "* && ! -d loadtest/reference/node_modules ]]; then
    (cd loadtest/reference && npm ci --no-audit --no-fund)
fi
# Run copies, so that a rebuild during the run cannot swap the binaries between scenarios.
mkdir -p "$out/bin"
cp "$root/target/release/ardoise" "$root/target/release/loadtest" "$out/bin/"
loadtest=$out/bin/loadtest
ardoise=$out/bin/ardoise

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    if rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null); then
        git -C "$root" diff --quiet HEAD -- src Cargo.toml || rev="$rev + uncommitted changes"
        echo "tree: $rev"
    else
        echo "tree: not a git checkout ($root)"
    fi
    # With --no-build the binaries may be older than the tree.
    echo "ardoise binary: built $(date -u -r "$root/target/release/ardoise" +%Y-%m-%dT%H:%M:%SZ)"
    echo "loadtest binary: built $(date -u -r "$root/target/release/loadtest" +%Y-%m-%dT%H:%M:%SZ)"
    echo "kernel: $(uname -srm)"
    echo "nproc: $(nproc)"
    lscpu | sed -n '1,20p'
    free -h | sed -n '1,2p'
    echo "rustc: $(rustc --version)"
    echo "node: $(node --version 2>/dev/null || echo none)"
    echo "reference: @y/websocket-server $(node -p "require('./loadtest/reference/node_modules/@y/websocket-server/package.json').version" 2>/dev/null || echo '?'), yjs $(node -p "require('./loadtest/reference/node_modules/yjs/package.json').version" 2>/dev/null || echo '?')"
    echo "scenarios: $scenarios; servers: $servers; duration: ${duration:-preset}; extra: ${extra[*]:-none}"
} > "$out/machine.txt"

server_pid=""
server_dir=""
stop_server() {
    if [[ -n $server_pid ]]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 100); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
    if [[ -n $server_dir ]]; then
        rm -rf "$server_dir"
        server_dir=""
    fi
}
trap stop_server EXIT

# Starts server $1 with its logs under $2; sets server_pid and port.
start_server() {
    local name=$1 log=$2
    server_dir=$(mktemp -d)
    case "$name" in
        ardoise)
            "${pin_server[@]}" "$ardoise" --listen 127.0.0.1:0 \
                --data "$server_dir/data" >"$log.out" 2>"$log.err" &
            ;;
        reference)
            HOST=127.0.0.1 PORT=0 "${pin_server[@]}" node "$root/loadtest/reference/server.mjs" \
                >"$log.out" 2>"$log.err" &
            ;;
        *) echo "run.sh: unknown server $name" >&2; exit 2 ;;
    esac
    server_pid=$!
    port=""
    for _ in $(seq 300); do
        port=$(sed -n '1s|^listening on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$log.out")
        [[ -n $port ]] && return 0
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "run.sh: $name did not start; see $log.err" >&2
    exit 1
}

reports=()
for scenario in $scenarios; do
    for server in $servers; do
        base=$out/$server-$scenario
        start_server "$server" "$base.server"
        args=(--url "ws://127.0.0.1:$port/ws" --scenario "$scenario" --server-pid "$server_pid"
              --label "$server" --json)
        [[ -n $duration ]] && args+=(--duration-secs "$duration")
        echo "== $server, scenario $scenario (pid $server_pid, port $port)" >&2
        if "${pin_load[@]}" "$loadtest" "${args[@]}" "${extra[@]}" >"$base.json" 2>"$base.log"; then
            reports+=("$base.json")
            tail -n 1 "$base.log" >&2 || true
        else
            echo "run.sh: loadtest failed for $server $scenario; see $base.log" >&2
            tail -n 5 "$base.log" >&2 || true
        fi
        stop_server
    done
done

echo
cat "$out/machine.txt" | sed -n '1,5p'
echo
"$loadtest" table "${reports[@]}" | tee "$out/table.md"
echo
echo "reports: $out"
