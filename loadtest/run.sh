#!/usr/bin/env bash
# The five scenarios of BENCHMARKS.md, against ardoise (release build) and the reference Node
# server (@y/websocket-server, pinned in loadtest/reference/package-lock.json) in the same run:
# each server pinned to core 0 (taskset -c 0), the load generator to core 1, a fresh server per
# measurement, traffic on 127.0.0.1 only. Prints Markdown tables; the JSON reports, server logs
# and a description of the machine stay in the output directory.
#
#   loadtest/run.sh [--scenarios "1 2 3 4 5"] [--servers "ardoise reference"] [--out DIR]
#                   [--no-build]
#
# Servers: ardoise (one node, redb), ardoise-pg (one node on PostgreSQL), ardoise-3nodes (three
# nodes on PostgreSQL behind HAProxy configured as deploy/haproxy.cfg), reference. PostgreSQL is
# started by this script (initdb into the output directory, a free loopback port, a fresh
# database per measurement, stopped at the end); every server-side process is pinned to core 0
# and measured together (loadtest --pid for each, PostgreSQL with its backends).
#
#   1 classroom   30 pads × (10 authors + 20 lurkers), an author types 4 chars every 400 ms, 30 s
#   2 big pad     ramp on one pad, +20 authors +60 lurkers every 1.5 s, until p99 > 250 ms
#   3 fan-out     1 pad × (20 writers + 180 readers); the edit rate rises until p99 > 100 ms
#   4 idle        10,000 connections over 1,000 pads: memory per connection
#   5 storm       500 new pads at 50/s over scenario 1; ardoise twice: with [shedding] marks
#                 the storm trips, and with --shedding-mode open
#   6 hard storm  20 pads × (10 authors), 10 s, ardoise in auto mode with rooms_high = 300:
#                 once alone, once with 300 new pads a second (3,000 tried); the existing pads'
#                 p99 of both runs side by side (ardoise only: the reference has no shedding)
#   7 failover    ardoise-3nodes only: 30 pads, a stock y-websocket writer and reader each
#                 through HAProxy; SIGKILL of the node holding the most; time until each
#                 reader sees its writer's next line, and lines lost (loadtest/failover.mjs),
#                 with --lease-secs 6 (the default), 10 and 3
#   8 school      300 pads × (10 authors + 20 lurkers), 9,000 connections, an author types 4
#                 chars every 2 s (1,500 edits/s), 30 s: many small busy rooms (issue 23)
#   9 cursors     scenario 8 with --cursor: each edit is followed by the author's cursor move,
#                 an awareness update written with it as an editor does (two frames a keystroke)
#
# Within a scenario every server is measured before the next scenario starts, so that a change
# in the machine's background load affects both sides alike. Each scenario takes ≤ 90 s a server.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scenarios="1 2 3 4 5"
servers="ardoise reference"
out=""
build=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --scenarios) scenarios=$2; shift 2 ;;
        --servers) servers=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --no-build) build=0; shift ;;
        -h|--help) sed -n '2,36p' "$0"; exit 0 ;;
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
# 10,000 sockets on each side (scenario 4), plus the server's files.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [[ $(ulimit -n) != unlimited && $(ulimit -n) -lt 11000 ]]; then
    echo "run.sh: ulimit -n is $(ulimit -n); scenario 4 needs about 10,100 per process" >&2
fi

cd "$root"
target_dir=${CARGO_TARGET_DIR:-$root/target}
if [[ $build -eq 1 ]]; then
    cargo build --release -p ardoise -p loadtest
fi
if [[ " $servers " == *" reference "* && ! -d loadtest/reference/node_modules ]]; then
    (cd loadtest/reference && npm ci --no-audit --no-fund)
fi
# Run copies, so that a rebuild during the run cannot swap the binaries between scenarios.
mkdir -p "$out/bin"
cp "$target_dir/release/ardoise" "$target_dir/release/loadtest" "$out/bin/"
loadtest=$out/bin/loadtest
ardoise=$out/bin/ardoise

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    if rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null); then
        git -C "$root" diff --quiet HEAD -- src loadtest Cargo.toml || rev="$rev + uncommitted changes"
        echo "tree: $rev"
    fi
    echo "kernel: $(uname -srm)"
    echo "nproc: $(nproc)"
    echo "cpu: $(lscpu | sed -n 's/^Model name: *//p')"
    free -h | sed -n '1,2p'
    echo "ulimit -n: $(ulimit -n)"
    echo "rustc: $(rustc --version)"
    echo "node: $(node --version 2>/dev/null || echo none)"
    echo "reference: @y/websocket-server $(node -p "require('./loadtest/reference/node_modules/@y/websocket-server/package.json').version" 2>/dev/null || echo '?'), yjs $(node -p "require('./loadtest/reference/node_modules/yjs/package.json').version" 2>/dev/null || echo '?')"
    echo "scenarios: $scenarios; servers: $servers"
} > "$out/machine.txt"

# The [shedding] marks of the storm: 30 classroom pads are live, the storm's pads push the
# count past rooms_high; broadcast delay is the other signal that may trip.
cat > "$out/shedding.toml" <<'TOML'
[shedding]
rooms_high = 150
rooms_low = 100
broadcast_delay_high_ms = 100
broadcast_delay_low_ms = 30
hold_secs = 5
TOML

# Scenario 6: creation closes once 300 rooms are live and reopens under 250; the other marks
# are the defaults.
cat > "$out/storm6.toml" <<'TOML'
[shedding]
rooms_high = 300
rooms_low = 250
TOML

server_pid=""
# The server's own processes (stopped after each measurement), and what is measured: those
# and PostgreSQL, which outlives them.
server_pids=()
measured_pids=()
server_dir=""
stop_server() {
    local pid
    for pid in "${server_pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${server_pids[@]}"; do
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    server_pid=""
    server_pids=()
    if [[ -n $server_dir ]]; then
        rm -rf "$server_dir"
        server_dir=""
    fi
}

# PostgreSQL for ardoise-pg and ardoise-3nodes: started on first use, stopped at exit.
pg_dir=""
pg_pid=""
pg_port=""
pg_dbs=0
pg_run=()
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
start_postgres() {
    [[ -n $pg_pid ]] && return 0
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    [[ -x $bin/initdb ]] || { echo "run.sh: PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
    # Under /tmp: the `postgres` user must reach it when this runs as root.
    pg_dir=$(mktemp -d /tmp/ardoise-bench-pg.XXXXXX)
    echo bench-secret >"$pg_dir/pw"
    if [[ $(id -u) -eq 0 ]]; then
        chown -R postgres:postgres "$pg_dir"
        pg_run=(runuser -u postgres --)
    fi
    "${pg_run[@]}" "$bin/initdb" -D "$pg_dir/data" -U ardoise -E UTF8 --no-locale --no-sync \
        --auth-local=trust --auth-host=scram-sha-256 --pwfile="$pg_dir/pw" >"$pg_dir/initdb.log"
    pg_port=$(free_port)
    "${pin_server[@]}" "${pg_run[@]}" "$bin/postgres" -D "$pg_dir/data" -p "$pg_port" -k "$pg_dir" \
        -c listen_addresses=127.0.0.1 >"$pg_dir/log" 2>&1 &
    for _ in $(seq 600); do
        "$bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" && break
        sleep 0.1
    done
    pg_pid=$(head -n 1 "$pg_dir/data/postmaster.pid")
    pg_bin=$bin
}
stop_postgres() {
    if [[ -n $pg_pid ]]; then
        "${pg_run[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" stop -m fast -w >/dev/null 2>&1 || kill -KILL "$pg_pid" 2>/dev/null || true
        pg_pid=""
        rm -rf "$pg_dir"
    fi
}
# A new, empty database; sets db_url.
fresh_db() {
    start_postgres
    pg_dbs=$((pg_dbs + 1))
    "$pg_bin/createdb" -h "$pg_dir" -p "$pg_port" -U ardoise "bench$pg_dbs"
    db_url="postgres://ardoise:bench-secret@127.0.0.1:$pg_port/bench$pg_dbs"
}
trap 'stop_server; stop_postgres' EXIT

# Waits for the server whose stdout is $1 (pid $2) to print its address; sets port.
await_listening() {
    local log=$1 pid=$2
    port=""
    for _ in $(seq 300); do
        port=$(sed -n '1s|^listening on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$log")
        [[ -n $port ]] && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    return 1
}

# Starts server $1 (ardoise, ardoise-shed, ardoise-pg, ardoise-3nodes or reference) with its
# logs under $2; sets server_pid (the process the clients reach), server_pids (every
# server-side process, to measure) and url. Extra arguments go to every ardoise node.
start_server() {
    local name=$1 log=$2
    shift 2
    server_dir=$(mktemp -d)
    case "$name" in
        ardoise)
            "${pin_server[@]}" "$ardoise" --listen 127.0.0.1:0 --data "$server_dir/data" \
                --shedding-mode open >"$log.out" 2>"$log.err" &
            ;;
        ardoise-pg)
            fresh_db
            "${pin_server[@]}" "$ardoise" --listen 127.0.0.1:0 --data "$server_dir/data" \
                --store "$db_url" --shedding-mode open >"$log.out" 2>"$log.err" &
            ;;
        ardoise-3nodes)
            fresh_db
            local node_ports=() id node_port
            for id in a b c; do
                node_port=$(free_port)
                "${pin_server[@]}" "$ardoise" --listen "127.0.0.1:$node_port" \
                    --data "$server_dir/data-$id" --store "$db_url" --node-id "$id" \
                    --shedding-mode open "$@" >"$log.$id.out" 2>"$log.$id.err" &
                server_pids+=($!)
                node_pids[$id]=$!
                await_listening "$log.$id.out" $! || { echo "run.sh: node $id did not start; see $log.$id.err" >&2; exit 1; }
                node_ports+=("$node_port")
            done
            local proxy_port
            proxy_port=$(free_port)
            {
                grep -v -E '^\s*(bind|server) ' "$root/deploy/haproxy.cfg" \
                    | sed "s|^frontend pads|frontend pads\n    bind 127.0.0.1:$proxy_port|"
                for id in 0 1 2; do
                    echo "    server n$id 127.0.0.1:${node_ports[$id]}"
                done
            } >"$server_dir/haproxy.cfg"
            "${pin_server[@]}" haproxy -db -f "$server_dir/haproxy.cfg" >"$log.out" 2>"$log.err" &
            server_pid=$!
            server_pids+=("$server_pid")
            measured_pids=("${server_pids[@]}" "$pg_pid")
            for _ in $(seq 100); do
                (exec 3<>"/dev/tcp/127.0.0.1/$proxy_port") 2>/dev/null && break
                sleep 0.1
            done
            # Until HAProxy's first health checks pass, it has no node to send to.
            for _ in $(seq 100); do
                [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$proxy_port/readyz") == 200 ]] && break
                sleep 0.1
            done
            url="ws://127.0.0.1:$proxy_port/ws/{doc}"
            return 0
            ;;
        ardoise-storm6)
            "${pin_server[@]}" "$ardoise" --listen 127.0.0.1:0 --data "$server_dir/data" \
                --config "$out/storm6.toml" --shedding-mode auto >"$log.out" 2>"$log.err" &
            ;;
        ardoise-shed)
            "${pin_server[@]}" "$ardoise" --listen 127.0.0.1:0 --data "$server_dir/data" \
                --config "$out/shedding.toml" --shedding-mode auto >"$log.out" 2>"$log.err" &
            ;;
        reference)
            HOST=127.0.0.1 PORT=0 "${pin_server[@]}" node "$root/loadtest/reference/server.mjs" \
                >"$log.out" 2>"$log.err" &
            ;;
        *) echo "run.sh: unknown server $name" >&2; exit 2 ;;
    esac
    server_pid=$!
    server_pids=("$server_pid")
    measured_pids=("$server_pid")
    if [[ $name == ardoise-pg ]]; then
        measured_pids+=("$pg_pid")
    fi
    if await_listening "$log.out" "$server_pid"; then
        url="ws://127.0.0.1:$port/ws/{doc}"
        return 0
    fi
    echo "run.sh: $name did not start; see $log.err" >&2
    exit 1
}
declare -A node_pids

# Runs `loadtest $mode ...` against a fresh server $1 into $out/$2.json; records the command,
# the load average and the CPU steal around it.
measure() {
    local server=$1 name=$2 base=$out/$2 mode=$3
    shift 3
    start_server "$server" "$base.server"
    local pid_args=() pid
    for pid in "${measured_pids[@]}"; do
        pid_args+=(--pid "$pid")
    done
    local cmd=("$loadtest" "$mode" --url "$url" "${pid_args[@]}" --label "$server" --json "$@")
    echo "== $name: ${cmd[*]}" >&2
    echo "${cmd[*]}" >"$base.cmd"
    local steal0 steal1
    steal0=$(awk '/^cpu /{print $9}' /proc/stat)
    echo "loadavg before: $(cut -d' ' -f1-3 /proc/loadavg)" >"$base.noise"
    if "${pin_load[@]}" "${cmd[@]}" >"$base.json" 2>"$base.log"; then
        tail -n 2 "$base.log" >&2 || true
    else
        echo "run.sh: loadtest failed for $name; see $base.log" >&2
        tail -n 5 "$base.log" >&2 || true
    fi
    steal1=$(awk '/^cpu /{print $9}' /proc/stat)
    echo "loadavg after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$base.noise"
    echo "steal: $(( (steal1 - steal0) ))0 ms of CPU (all cores)" >>"$base.noise"
    stop_server
}

classroom=(--pads 30 --authors 10 --lurkers 20 --type-every 400ms --chars 4)
school=(--pads 300 --authors 10 --lurkers 20 --type-every 2000ms --chars 4 --duration 30
    --connect-rate 1000)
for scenario in $scenarios; do
    case "$scenario" in
        1)
            for s in $servers; do
                measure "$s" "1-classroom-$s" run "${classroom[@]}" --duration 30
            done
            ;;
        2)
            for s in $servers; do
                measure "$s" "2-bigpad-$s" ramp --authors-per-step 20 --lurkers-per-step 60 \
                    --step-secs 1.5 --max-secs 90 --max-authors 1500 --slo 250
            done
            ;;
        3)
            for s in $servers; do
                for rate in 2 5 10 20 40 80; do
                    measure "$s" "3-fanout-$s-$rate" run --pads 1 --authors 20 --lurkers 180 \
                        --type-every "$(awk "BEGIN{print 1000/$rate}")ms" --chars 4 --duration 10
                    p99=$(jq -r '.latency.p99_ms // 1e9' "$out/3-fanout-$s-$rate.json" 2>/dev/null || echo 1e9)
                    if awk "BEGIN{exit !($p99 > 100)}"; then
                        echo "   p99 $p99 ms > 100 ms at $rate edits/s per writer: stop" >&2
                        break
                    fi
                done
            done
            ;;
        4)
            for s in $servers; do
                measure "$s" "4-idle-$s" connect --conns 10000 --pads 1000 --hold 5 \
                    --connect-rate 2000
            done
            ;;
        5)
            for s in $servers; do
                if [[ $s == ardoise ]]; then
                    measure ardoise-shed "5-storm-ardoise-shed" create-storm "${classroom[@]}" \
                        --duration 20 --rate 50 --count 500
                    grep -E "creation of new documents|creation" "$out/5-storm-ardoise-shed.server.err" \
                        | grep -v "document created" >"$out/5-storm-ardoise-shed.admission.log" || true
                fi
                measure "$s" "5-storm-$s" create-storm "${classroom[@]}" \
                    --duration 20 --rate 50 --count 500
            done
            ;;
        6)
            if [[ " $servers " == *" ardoise "* ]]; then
                small=(--pads 20 --authors 10 --lurkers 0 --type-every 400ms --chars 4)
                measure ardoise-storm6 "6-nostorm-ardoise" run "${small[@]}" --duration 10
                measure ardoise-storm6 "6-storm-ardoise" create-storm "${small[@]}" \
                    --duration 10 --rate 300 --count 3000
                grep -E "creation of new documents" "$out/6-storm-ardoise.server.err" \
                    >"$out/6-storm-ardoise.admission.log" || true
            fi
            ;;
        7)
            for lease in 6 10 3; do
                base=$out/7-failover-lease$lease
                start_server ardoise-3nodes "$base.server" --lease-secs "$lease"
                echo "== 7-failover-lease$lease" >&2
                if node "$root/loadtest/failover.mjs" --url "${url%/\{doc\}}" --db "$db_url" \
                    --nodes "a=${node_pids[a]},b=${node_pids[b]},c=${node_pids[c]}" \
                    >"$base.json" 2>"$base.log"; then
                    cat "$base.json" >&2
                else
                    echo "run.sh: failover.mjs failed; see $base.log" >&2
                fi
                stop_server
            done
            ;;
        8)
            for s in $servers; do
                measure "$s" "8-school-$s" run "${school[@]}"
            done
            ;;
        9)
            for s in $servers; do
                measure "$s" "9-school-cursor-$s" run "${school[@]}" --cursor
            done
            ;;
        *) echo "run.sh: unknown scenario $scenario" >&2; exit 2 ;;
    esac
done

echo
sed -n '1,6p' "$out/machine.txt"
echo
shopt -s nullglob
runs=("$out"/[1345689]-*.json)
ramps=("$out"/2-*.json)
[[ ${#runs[@]} -gt 0 ]] && "$loadtest" table "${runs[@]}" | tee "$out/table.md"
[[ ${#ramps[@]} -gt 0 ]] && "$loadtest" table "${ramps[@]}" | tee "$out/ramp.md"
echo
echo "reports: $out"
