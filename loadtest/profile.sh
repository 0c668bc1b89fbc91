#!/usr/bin/env bash
# A CPU profile of the release server under a load of loadtest's `run` mode (BENCHMARKS.md,
# issue 23): the server pinned to core 0, the generator to core 1 (as run.sh does), `perf record`
# on the server for --secs seconds once every client is connected, then the functions with the
# most CPU time of their own and the call paths with the most in all, as text.
#
#   loadtest/profile.sh [--out DIR] [--secs 15] [--no-build] [-- loadtest run's flags]
#
# Default load: scenario 8 of run.sh (300 pads × (10 authors + 20 lurkers), 4 chars every 2 s).
# Flags after `--` replace it whole; scenario 9 (every edit also moves the author's cursor) is
# that load with `--cursor` appended:
#
#   loadtest/profile.sh -- --pads 300 --authors 10 --lurkers 20 --type-every 2000ms --chars 4 \
#       --duration 40 --connect-rate 1000 --cursor
#
# Needs `perf` (Debian's linux-perf) and a kernel that lets root profile (perf_event_paranoid).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=""
secs=15
build=1
load=(--pads 300 --authors 10 --lurkers 20 --type-every 2000ms --chars 4 --duration 40 --connect-rate 1000)
while [[ $# -gt 0 ]]; do
    case "$1" in
        --out) out=$2; shift 2 ;;
        --secs) secs=$2; shift 2 ;;
        --no-build) build=0; shift ;;
        --) shift; load=("$@"); break ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "profile.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
out=${out:-$root/target/profile/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
cd "$root"
target_dir=${CARGO_TARGET_DIR:-$root/target}
if [[ $build -eq 1 ]]; then
    cargo build --release -p ardoise -p loadtest
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

data=$(mktemp -d)
taskset -c 0 "$target_dir/release/ardoise" --listen 127.0.0.1:0 --data "$data" \
    --shedding-mode open >"$out/server.out" 2>"$out/server.err" &
server=$!
cleanup() {
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -rf "$data"
}
trap cleanup EXIT
port=""
for _ in $(seq 300); do
    port=$(sed -n '1s|^listening on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$out/server.out")
    [[ -n $port ]] && break
    sleep 0.1
done
[[ -n $port ]] || { echo "profile.sh: the server did not start; see $out/server.err" >&2; exit 1; }

taskset -c 1 "$target_dir/release/loadtest" run --url "ws://127.0.0.1:$port/ws/{doc}" \
    --pid "$server" --label ardoise --json "${load[@]}" >"$out/report.json" 2>"$out/loadtest.log" &
gen=$!
# The measured phase starts once every client synced and the authors type: loadtest's
# progress line counts the edits.
for _ in $(seq 1200); do
    grep -qE 'edits [1-9]' "$out/loadtest.log" 2>/dev/null && break
    sleep 0.1
done
sleep 2
perf record -F 499 --call-graph dwarf,16384 -p "$server" -o "$out/perf.data" -- sleep "$secs" \
    >"$out/perf-record.log" 2>&1
wait "$gen" || echo "profile.sh: loadtest failed; see $out/loadtest.log" >&2

perf report -i "$out/perf.data" --no-children --sort symbol --stdio --percent-limit 1.5 \
    -g none >"$out/self.txt" 2>/dev/null
perf report -i "$out/perf.data" --children --sort symbol --stdio --percent-limit 5 \
    -g none >"$out/inclusive.txt" 2>/dev/null
echo "== most CPU time of their own"
grep -E '^ +[0-9]' "$out/self.txt" | head -25
echo "== most CPU time in all (with callees)"
grep -E '^ +[0-9]' "$out/inclusive.txt" | head -40
echo "reports: $out"
