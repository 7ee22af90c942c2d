#!/usr/bin/env bash
# make bench-db: sysbench oltp_read_write against one MariaDB binary with three
# configurations, the same memory limit and the same data set (docs/DATABASES.md):
#
#   defaults  MariaDB's built-in defaults (128 MiB buffer pool, 96 MiB redo log)
#   seed      the seed's four lines: buffer pool 75% of the memory, a large redo
#             log, O_DIRECT, file per table
#   jern      the my.cnf `jern db create --memory MEM --dedicated` generates
#
# MEM is the memory jern's configuration is generated for (buffer pool 75% of
# it, as the seed's lines). Each server runs in its own memory cgroup limited to
# that pool plus a margin for the server itself (DB_BENCH_MARGIN), page cache
# included: the same limit for all three. The data set (~3x MariaDB's default
# 128 MiB pool) fits in jern's pool but not in the page cache beside the default
# pool, so the OS cache cannot stand in for a buffer pool (O_DIRECT in jern's
# configuration bypasses it; the defaults read through it). Rows are picked
# uniformly (sysbench --rand-type=uniform), so the whole data set is the working
# set rather than sysbench's default hot 1%. The tables are utf8mb4 (jern's
# default) in all three, so they hold the same bytes and sort the same way.
#
# Settings (environment): DB_BENCH_MEMORY (MiB, default 640: a 480 MiB pool),
# DB_BENCH_MARGIN (MiB, 96), DB_BENCH_TABLES (4), DB_BENCH_ROWS (440000 per table,
# ~425 MiB in all), DB_BENCH_THREADS (8), DB_BENCH_SECONDS (60), DB_BENCH_WARMUP
# (30), DB_BENCH_RAND (uniform). Results: bench/results/db-*.txt.
# DB_BENCH_ABLATE=1 also measures jern's configuration with one rule at a time put
# back to MariaDB's default (same data, DB_BENCH_ABLATE_SECONDS each, default 30):
# the effect of each rule, as docs/DATABASES.md reports it.
set -euo pipefail
cd "$(dirname "$0")/.."

MEM=${DB_BENCH_MEMORY:-640}
POOL=$((MEM * 3 / 4 / 32 * 32))
CGMEM=$((POOL + ${DB_BENCH_MARGIN:-96}))
TABLES=${DB_BENCH_TABLES:-4}
ROWS=${DB_BENCH_ROWS:-440000}
THREADS=${DB_BENCH_THREADS:-8}
SECS=${DB_BENCH_SECONDS:-60}
WARM=${DB_BENCH_WARMUP:-30}
RAND=${DB_BENCH_RAND:-uniform}
JERN=${JERN_BIN:-$PWD/build/jern}

for t in mariadbd mariadb-install-db sysbench; do
    command -v $t >/dev/null || { echo "bench-db: $t not found (make deps)" >&2; exit 1; }
done
CGROOT=/sys/fs/cgroup/memory
[ -w "$CGROOT" ] || { echo "bench-db: needs a writable memory cgroup at $CGROOT (run as root)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/jern-bench-db.XXXXXX)
OUT=bench/results/db-$(date -u +%Y%m%dT%H%M%SZ).txt
mkdir -p bench/results
PIDS=()
cleanup() {
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
    sleep 0.5
    for cg in "$WORK"/cg-*; do [ -e "$cg" ] && rmdir "$(cat "$cg")" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# base_cnf DIR PORT: the lines every configuration needs to run at all.
base_cnf() {
    cat <<EOF
[mariadbd]
datadir = $1/data
port = $2
bind_address = 127.0.0.1
socket = $1/sock
pid_file = $1/pid
log_error = $1/err
user = root
EOF
}

# start NAME CNF: mariadbd in a fresh memory cgroup of CGMEM MiB; waits until ready.
start() {
    local name=$1 cnf=$2 cg=$CGROOT/jern-bench-db-$$-$1
    mkdir -p "$cg"
    echo "$cg" >"$WORK/cg-$name"
    echo $((CGMEM * 1024 * 1024)) >"$cg/memory.limit_in_bytes"
    ( echo "$BASHPID" >"$cg/cgroup.procs"; exec mariadbd --defaults-file="$cnf" ) >/dev/null 2>&1 &
    PID=$!
    PIDS+=("$PID")
    local sock
    sock=$(sed -n 's/^socket = //p' "$cnf")
    for _ in $(seq 600); do
        mariadb --socket="$sock" -uroot -e 'SELECT 1' >/dev/null 2>&1 && { SOCK=$sock; return; }
        kill -0 "$PID" 2>/dev/null || { echo "bench-db: $name: mariadbd exited" >&2; tail "$(sed -n 's/^log_error = //p' "$cnf")" >&2; exit 1; }
        sleep 0.1
    done
    echo "bench-db: $name: not ready" >&2
    exit 1
}

stop() {
    kill "$PID" 2>/dev/null || true
    for _ in $(seq 600); do kill -0 "$PID" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$PID" 2>/dev/null || true
}

sb() { sysbench oltp_read_write --db-driver=mysql --mysql-socket="$SOCK" --mysql-user=root \
       --mysql-db=sbtest --tables="$TABLES" --table-size="$ROWS" --threads="$THREADS" --rand-type="$RAND" "$@"; }

# run NAME CNF: prepare, warm up, measure; prints "tps p95".
run() {
    local name=$1 cnf=$2
    start "$name" "$cnf"
    # The same tables for all three: utf8mb4 with jern's collation (MariaDB's
    # built-in default is latin1, whose sorts are cheaper: not a tuning effect).
    mariadb --socket="$SOCK" -uroot -e 'CREATE DATABASE IF NOT EXISTS sbtest CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci'
    sb prepare >"$WORK/$name-prepare.log" 2>&1
    # The same history for every configuration: a clean restart after prepare
    # (MariaDB reloads the pages it dumped), then the warm-up.
    stop
    start "$name" "$cnf"
    sb --time="$WARM" --report-interval=0 run >"$WORK/$name-warm.log" 2>&1
    sb --time="$SECS" --percentile=95 run >"$WORK/$name-run.log" 2>&1
    local size
    size=$(mariadb --socket="$SOCK" -uroot -N -e "SELECT ROUND(SUM(data_length+index_length)/1048576) FROM information_schema.tables WHERE table_schema='sbtest'")
    stop
    local tps p95
    tps=$(sed -n 's/.*transactions: *[0-9]* *(\([0-9.]*\) per sec.*/\1/p' "$WORK/$name-run.log")
    p95=$(sed -n 's/.*95th percentile: *\([0-9.]*\).*/\1/p' "$WORK/$name-run.log")
    echo "$tps $p95 $size"
}

init_datadir() {
    mariadb-install-db --no-defaults --datadir="$1/data" --user=root \
        --auth-root-authentication-method=normal --skip-test-db >"$1/install.log" 2>&1
}

echo "bench-db: jern --memory ${MEM}M (pool ${POOL} MiB), cgroup ${CGMEM} MiB per server, $TABLES tables x $ROWS rows, $THREADS threads, ${WARM}s warm-up + ${SECS}s"

# defaults
D=$WORK/defaults; mkdir -p "$D"; init_datadir "$D"
base_cnf "$D" "$(free_port)" >"$D/my.cnf"
read -r TPS_D P95_D SIZE_D <<<"$(run defaults "$D/my.cnf")"

# the seed's four lines
S=$WORK/seed; mkdir -p "$S"; init_datadir "$S"
{ base_cnf "$S" "$(free_port)"; cat <<EOF
innodb_buffer_pool_size = ${POOL}M
innodb_log_file_size = 512M
innodb_flush_method = O_DIRECT
innodb_file_per_table = 1
EOF
} >"$S/my.cnf"
read -r TPS_S P95_S SIZE_S <<<"$(run seed "$S/my.cnf")"

# jern's generated configuration: jern creates the database (datadir, my.cnf),
# then the server is stopped and run here under the same cgroup as the others.
J=$WORK/jern; mkdir -p "$J"
JPORT=$(free_port)
echo "jern { listen 127.0.0.1:$(free_port); }" >"$J/jern.conf"
JERN_STATE=$J/state "$JERN" serve -c "$J/jern.conf" >"$J/serve.log" 2>&1 &
JD=$!
PIDS+=("$JD")
for _ in $(seq 100); do [ -S "$J/state/admin.sock" ] && break; sleep 0.1; done
JERN_STATE=$J/state "$JERN" db create bench --memory "${MEM}M" --dedicated --port "$JPORT" >/dev/null
kill -9 "$JD"
wait "$JD" 2>/dev/null || true
JCNF=$J/state/db/bench/my.cnf
JPID=$(cat "$J/state/db/bench/mariadbd.pid")
kill "$JPID"; for _ in $(seq 600); do kill -0 "$JPID" 2>/dev/null || break; sleep 0.1; done
read -r TPS_J P95_J SIZE_J <<<"$(run jern "$JCNF")"

# measure NAME CNF: restart on data already there, warm up, run; prints "tps p95".
measure() {
    start "$1" "$2"
    sb --time="$WARM" --report-interval=0 run >"$WORK/$1-warm.log" 2>&1
    sb --time="${DB_BENCH_ABLATE_SECONDS:-30}" --percentile=95 run >"$WORK/$1-run.log" 2>&1
    stop
    echo "$(sed -n 's/.*transactions: *[0-9]* *(\([0-9.]*\) per sec.*/\1/p' "$WORK/$1-run.log")" \
         "$(sed -n 's/.*95th percentile: *\([0-9.]*\).*/\1/p' "$WORK/$1-run.log")"
}

ABL=()
if [ "${DB_BENCH_ABLATE:-0}" = 1 ]; then
    # key|replacement line (empty: the line removed)
    for v in "jern|" \
             "innodb_buffer_pool_size|innodb_buffer_pool_size = 128M" \
             "innodb_log_file_size|innodb_log_file_size = 96M" \
             "innodb_flush_method|innodb_flush_method = fsync" \
             "innodb_flush_neighbors|innodb_flush_neighbors = 1" \
             "innodb_io_capacity|innodb_io_capacity = 200" \
             "log_bin|"; do
        key=${v%%|*}
        repl=${v#*|}
        cnf=$J/ablate-$key.cnf
        if [ "$key" = jern ]; then
            cp "$JCNF" "$cnf"
        else
            awk -v k="$key" -v r="$repl" '$1 == k { if (r != "") print r; next } { print }' "$JCNF" >"$cnf"
        fi
        read -r t p <<<"$(measure "ablate-$key" "$cnf")"
        ABL+=("$key $t $p")
    done
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
{
    echo "make bench-db, $(date -u +%Y-%m-%dT%H:%MZ), $(mariadbd --version | awk '{print $3}')"
    echo "jern --memory ${MEM}M --dedicated (pool ${POOL} MiB; seed's pool the same); memory limit ${CGMEM} MiB"
    echo "per server (cgroup, page cache included); data set ${SIZE_J} MiB ($TABLES tables x $ROWS rows);"
    echo "sysbench oltp_read_write --rand-type=$RAND, $THREADS threads, ${SECS}s after ${WARM}s warm-up"
    printf "%-10s %10s %10s\n" config "tps" "p95 ms"
    printf "%-10s %10s %10s\n" defaults "$TPS_D" "$P95_D"
    printf "%-10s %10s %10s\n" seed "$TPS_S" "$P95_S"
    printf "%-10s %10s %10s\n" jern "$TPS_J" "$P95_J"
    echo "jern / defaults tps: $(ratio "$TPS_J" "$TPS_D")  (target >= 1.5)"
    echo "jern / seed tps:     $(ratio "$TPS_J" "$TPS_S")"
    echo "jern / seed p95:     $(ratio "$P95_J" "$P95_S")  (target <= 1.00)"
    if [ ${#ABL[@]} -gt 0 ]; then
        echo
        echo "each rule put back to MariaDB's default (jern's data, ${DB_BENCH_ABLATE_SECONDS:-30}s each):"
        printf "%-24s %10s %10s %16s\n" "without" "tps" "p95 ms" "jern tps / this"
        read -r _ base _ <<<"${ABL[0]}"
        for a in "${ABL[@]}"; do
            read -r k t p <<<"$a"
            [ "$k" = jern ] && k="(nothing: jern's config)"
            printf "%-24s %10s %10s %16s\n" "$k" "$t" "$p" "$(ratio "$base" "$t")"
        done
    fi
} | tee "$OUT"
