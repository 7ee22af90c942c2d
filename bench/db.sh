#!/usr/bin/env bash
# make bench-db: sysbench oltp_read_write against one MariaDB binary with three
# configurations, the same memory limit and the same data set (docs/DATABASES.md):
#
#   defaults  MariaDB's built-in defaults (128 MiB buffer pool, 96 MiB redo log)
#   seed      the seed's four lines: buffer pool 75% of the memory, a large redo
#             log, O_DIRECT, file per table
#   jern      the my.cnf `jern db create --memory MEM --dedicated` generates
#
# MEM is the memory jern's configuration is generated for, and what jern limits
# its server to (a memory cgroup of --memory). Each server's measured runs are
# made in a memory cgroup of MEM, page cache included: the same limit for all
# three, the one a user of jern would have. The seed's pool is jern's (75% of
# MEM where the server's own memory and 32 connections fit beside it, less on a
# small node: docs/DATABASES.md). The data set (~3x MariaDB's default 128 MiB
# pool) fits in that pool; the defaults read it through the page cache beside
# their 128 MiB pool (O_DIRECT in the other two bypasses it), as they would on
# such a node. The bulk load (sysbench prepare, its index builds above all) runs
# without the limit: it is set-up, the same for all three. Rows are picked
# uniformly (sysbench --rand-type=uniform), so the whole data set is the working
# set rather than sysbench's default hot 1%. The tables are utf8mb4 (jern's
# default) in all three, so they hold the same bytes and sort the same way.
#
# The three are measured in DB_BENCH_ROUNDS rounds (default 3), each round in
# another order (a drift of the machine during the run falls on each in turn):
# per round and configuration a restart, DB_BENCH_WARMUP seconds of warm-up, then
# DB_BENCH_SECONDS measured. It prints every round, the median of each figure
# with its spread (min-max), the ratios of the medians and the range of the
# ratios paired by round: one run of one configuration moves by up to 20% on
# this kind of machine with nothing changed.
#
# Settings (environment): DB_BENCH_MEMORY (MiB, default 640: a 448 MiB pool),
# DB_BENCH_LIMIT (MiB, default MEM), DB_BENCH_TABLES (4), DB_BENCH_ROWS (440000 per table,
# ~425 MiB in all), DB_BENCH_THREADS (8), DB_BENCH_ROUNDS (3), DB_BENCH_SECONDS
# (30), DB_BENCH_WARMUP (20), DB_BENCH_RAND (uniform). Results:
# bench/results/db-*.txt.
# DB_BENCH_ABLATE=1 also measures jern's configuration with one rule at a time put
# back to MariaDB's default (same data, DB_BENCH_ABLATE_SECONDS each, default 30):
# the effect of each rule, as docs/DATABASES.md reports it.
set -euo pipefail
cd "$(dirname "$0")/.."

MEM=${DB_BENCH_MEMORY:-640}
CGMEM=${DB_BENCH_LIMIT:-$MEM}
TABLES=${DB_BENCH_TABLES:-4}
ROWS=${DB_BENCH_ROWS:-440000}
THREADS=${DB_BENCH_THREADS:-8}
ROUNDS=${DB_BENCH_ROUNDS:-3}
SECS=${DB_BENCH_SECONDS:-30}
WARM=${DB_BENCH_WARMUP:-20}
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

# start NAME CNF [LIMIT]: mariadbd in a fresh memory cgroup of LIMIT MiB (default
# CGMEM; "none": no limit); waits until ready. Sets PID, SOCK and CG.
NCG=0
start() {
    local name=$1 cnf=$2 limit=${3:-$CGMEM}
    NCG=$((NCG + 1))
    CG=$CGROOT/jern-bench-db-$$-$name-$NCG
    mkdir -p "$CG"
    echo "$CG" >"$WORK/cg-$NCG"
    if [ "$limit" != none ]; then echo $((limit * 1024 * 1024)) >"$CG/memory.limit_in_bytes"; fi
    ( echo "$BASHPID" >"$CG/cgroup.procs"; exec mariadbd --defaults-file="$cnf" ) >/dev/null 2>&1 &
    PID=$!
    PIDS+=("$PID")
    local sock
    sock=$(sed -n 's/^socket = //p' "$cnf")
    for _ in $(seq 600); do
        mariadb --socket="$sock" -uroot -e 'SELECT 1' >/dev/null 2>&1 && { SOCK=$sock; return; }
        kill -0 "$PID" 2>/dev/null || { echo "bench-db: $name: mariadbd exited$(oom_note)" >&2; tail "$(sed -n 's/^log_error = //p' "$cnf")" >&2; exit 1; }
        sleep 0.1
    done
    echo "bench-db: $name: not ready" >&2
    exit 1
}

# oom_note: why the server in CG went away, when its memory limit killed it
# (mariadbd's own log says nothing of a SIGKILL).
oom_note() {
    local n
    n=$(awk '$1 == "oom_kill" { print $2 }' "$CG/memory.oom_control" 2>/dev/null)
    if [ "${n:-0}" -gt 0 ]; then echo " (killed by its cgroup's memory limit, $CGMEM MiB)"; fi
}

stop() {
    kill "$PID" 2>/dev/null || true
    for _ in $(seq 600); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    rmdir "$CG" 2>/dev/null || true
}

sb() { sysbench oltp_read_write --db-driver=mysql --mysql-socket="$SOCK" --mysql-user=root \
       --mysql-db=sbtest --tables="$TABLES" --table-size="$ROWS" --threads="$THREADS" --rand-type="$RAND" "$@"; }

# prepare NAME CNF: the tables and rows, loaded without the memory limit; then a
# clean stop (the server dumps its pool's page list for the next start).
prepare() {
    start "$1" "$2" none
    # The same tables for all three: utf8mb4 with jern's collation (MariaDB's
    # built-in default is latin1, whose sorts are cheaper: not a tuning effect).
    mariadb --socket="$SOCK" -uroot -e 'CREATE DATABASE IF NOT EXISTS sbtest CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci'
    if ! sb prepare >"$WORK/$1-prepare.log" 2>&1; then
        echo "bench-db: $1: sysbench prepare failed" >&2
        tail "$WORK/$1-prepare.log" >&2
        exit 1
    fi
    SIZE=$(mariadb --socket="$SOCK" -uroot -N -e "SELECT ROUND(SUM(data_length+index_length)/1048576) FROM information_schema.tables WHERE table_schema='sbtest'")
    stop
}

# measure NAME CNF SECONDS: a restart under the limit, the warm-up, the measured
# run; sets M_TPS and M_P95 (the same history for every configuration: MariaDB
# reloads the pages it dumped at the last stop, then the warm-up).
measure() {
    start "$1" "$2"
    sb --time="$WARM" --report-interval=0 run >"$WORK/$1-warm.log" 2>&1 || true
    sb --time="$3" --percentile=95 run >"$WORK/$1-run.log" 2>&1 || true
    M_TPS=$(sed -n 's/.*transactions: *[0-9]* *(\([0-9.]*\) per sec.*/\1/p' "$WORK/$1-run.log")
    M_P95=$(sed -n 's/.*95th percentile: *\([0-9.]*\).*/\1/p' "$WORK/$1-run.log")
    if [ -z "$M_TPS" ] || [ -z "$M_P95" ] || ! kill -0 "$PID" 2>/dev/null; then
        echo "bench-db: $1: no figure$(oom_note)" >&2
        tail -3 "$WORK/$1-run.log" >&2
        exit 1
    fi
    stop
}

init_datadir() {
    mariadb-install-db --no-defaults --datadir="$1/data" --user=root \
        --auth-root-authentication-method=normal --skip-test-db >"$1/install.log" 2>&1
}

echo "bench-db: jern --memory ${MEM}M, cgroup ${CGMEM} MiB per server, $TABLES tables x $ROWS rows, $THREADS threads, $ROUNDS rounds of ${WARM}s warm-up + ${SECS}s"

# defaults
D=$WORK/defaults; mkdir -p "$D"; init_datadir "$D"
base_cnf "$D" "$(free_port)" >"$D/my.cnf"

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
POOL=$(sed -n 's/^innodb_buffer_pool_size = \([0-9]*\)M$/\1/p' "$JCNF")

# the seed's four lines
S=$WORK/seed; mkdir -p "$S"; init_datadir "$S"
{ base_cnf "$S" "$(free_port)"; cat <<EOF
innodb_buffer_pool_size = ${POOL}M
innodb_log_file_size = 512M
innodb_flush_method = O_DIRECT
innodb_file_per_table = 1
EOF
} >"$S/my.cnf"

NAMES=(defaults seed jern)
CNFS=("$D/my.cnf" "$S/my.cnf" "$JCNF")
for i in 0 1 2; do prepare "${NAMES[$i]}" "${CNFS[$i]}"; done
SIZE_J=$SIZE

# The rounds: each starts one configuration further on (defaults seed jern,
# seed jern defaults, jern defaults seed, ...).
declare -A TPS P95
for r in $(seq "$ROUNDS"); do
    for k in 0 1 2; do
        i=$(((r - 1 + k) % 3))
        n=${NAMES[$i]}
        measure "$n" "${CNFS[$i]}" "$SECS"
        TPS[$n,$r]=$M_TPS
        P95[$n,$r]=$M_P95
        printf "round %d  %-9s %9s tps %8s ms p95\n" "$r" "$n" "$M_TPS" "$M_P95"
    done
done

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
        measure "ablate-$key" "$cnf" "${DB_BENCH_ABLATE_SECONDS:-30}"
        ABL+=("$key $M_TPS $M_P95")
    done
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
# stats N...: "median min max" of the numbers.
stats() {
    printf "%s\n" "$@" | sort -g | awk '{ v[NR] = $1 }
        END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f %.2f %.2f\n", m, v[1], v[NR] }'
}
# rounds FIG NAME: NAME's figures, one per round. paired FIG A B: A / B by round.
rounds() { local -n fig=$1; local r; for r in $(seq "$ROUNDS"); do echo "${fig[$2,$r]}"; done; }
paired() { local -n fig=$1; local r; for r in $(seq "$ROUNDS"); do ratio "${fig[$2,$r]}" "${fig[$3,$r]}"; echo; done; }
declare -A MED
{
    echo "make bench-db, $(date -u +%Y-%m-%dT%H:%MZ), $(mariadbd --version | awk '{print $3}'), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
    echo "jern --memory ${MEM}M --dedicated (pool ${POOL} MiB; seed's pool the same); memory limit ${CGMEM} MiB"
    echo "per server in the measured runs (cgroup, page cache included); data set ${SIZE_J} MiB ($TABLES tables x $ROWS rows);"
    echo "sysbench oltp_read_write --rand-type=$RAND, $THREADS threads; $ROUNDS rounds, the order turning each round;"
    echo "per round and configuration a restart, ${WARM}s warm-up, ${SECS}s measured"
    for r in $(seq "$ROUNDS"); do
        printf "round %d:" "$r"
        for n in "${NAMES[@]}"; do printf "  %s %s tps %s ms" "$n" "${TPS[$n,$r]}" "${P95[$n,$r]}"; done
        echo
    done
    printf "%-10s %26s %26s\n" config "tps median (min-max)" "p95 ms median (min-max)"
    for n in "${NAMES[@]}"; do
        read -r tm tl th <<<"$(stats $(rounds TPS "$n"))"
        read -r pm pl ph <<<"$(stats $(rounds P95 "$n"))"
        MED[$n,tps]=$tm
        MED[$n,p95]=$pm
        printf "%-10s %26s %26s\n" "$n" "$tm ($tl-$th)" "$pm ($pl-$ph)"
    done
    read -r _ lo hi <<<"$(stats $(paired TPS jern defaults))"
    echo "jern / defaults tps: $(ratio "${MED[jern,tps]}" "${MED[defaults,tps]}") of the medians, $lo-$hi by round  (target >= 1.5)"
    read -r _ lo hi <<<"$(stats $(paired TPS jern seed))"
    echo "jern / seed tps:     $(ratio "${MED[jern,tps]}" "${MED[seed,tps]}") of the medians, $lo-$hi by round"
    read -r _ lo hi <<<"$(stats $(paired P95 jern seed))"
    echo "jern / seed p95:     $(ratio "${MED[jern,p95]}" "${MED[seed,p95]}") of the medians, $lo-$hi by round  (target <= 1.00)"
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
