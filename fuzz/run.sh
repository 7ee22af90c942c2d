#!/usr/bin/env bash
# Runs each libFuzzer target for SECONDS (default 60), one after another.
#
#   fuzz/run.sh [SECONDS] [TARGET...]     e.g. fuzz/run.sh 300 request chunked
#
# A target is fuzz/fuzz_<name>.c with its seed corpus in fuzz/corpus/<name>/
# and dictionary fuzz/<name>.dict if present, else fuzz/http.dict. Builds
# libjern.a with clang, ASan and UBSan into build/fuzz, then each target with
# -fsanitize=fuzzer. New inputs go to build/fuzz/new/<name>; afterwards only
# those that add coverage are merged into fuzz/corpus/<name> (-merge=1), so
# the corpus in git stays small. FUZZ_MINIMIZE=1 also re-minimises the whole
# corpus. Crashes are written to build/fuzz/artifacts/ and fail the run.
# Extra libFuzzer flags: FUZZ_FLAGS (e.g. FUZZ_FLAGS=-jobs=2).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${1:-60}
shift || true
BUILD=build/fuzz
CC=${FUZZ_CC:-clang}
LIBS="-lsqlite3 -lcurl -lcjson -lyaml -lmariadb -lpcre2-8 -lcrypto -lm -pthread"
FLAGS="-std=gnu11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"

command -v "$CC" >/dev/null || { echo "fuzz: $CC not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }

make -s -j2 BUILD=$BUILD CC="$CC" SAN=1 EXTRA_CFLAGS=-fsanitize=fuzzer-no-link $BUILD/libjern.a

if [ $# -gt 0 ]; then
    names=("$@")
else
    names=()
    for f in fuzz/fuzz_*.c; do
        n=${f#fuzz/fuzz_}
        names+=("${n%.c}")
    done
fi

# Hand-written seeds (any name that is not a 40-hex SHA-1) are always kept.
# Everything else in the corpus is replaced by libFuzzer's minimal set over
# seeds + corpus + new finds, measured in edges (-use_counters=0: hit counts
# would keep ten times the files for no new code reached).
merge_into_corpus() {
    local bin=$1 corpus=$2 new=$3 min=$4 f h
    rm -rf "$min" && mkdir -p "$min"
    "$bin" -merge=1 -use_counters=0 "$min" "$corpus" "$new"
    local -A seed_sums=()
    for f in "$corpus"/*; do
        [ -f "$f" ] || continue
        if [[ $(basename "$f") =~ ^[0-9a-f]{40}$ ]]; then
            rm -f "$f"
        else
            h=$(sha1sum <"$f")
            seed_sums[${h%% *}]=1
        fi
    done
    for f in "$min"/*; do
        [ -f "$f" ] || continue
        [ -n "${seed_sums[$(basename "$f")]:-}" ] || cp "$f" "$corpus"/
    done
}

mkdir -p "$BUILD/artifacts"
summary=()
failed=0
for name in "${names[@]}"; do
    src=fuzz/fuzz_$name.c
    [ -f "$src" ] || { echo "fuzz: no target $src" >&2; exit 1; }
    bin=$BUILD/fuzz_$name
    # shellcheck disable=SC2086
    $CC $FLAGS -Isrc -I. -o "$bin" "$src" $BUILD/libjern.a $LIBS

    corpus=fuzz/corpus/$name
    new=$BUILD/new/$name
    mkdir -p "$corpus" "$new"
    dict=fuzz/$name.dict
    [ -f "$dict" ] || dict=fuzz/http.dict
    dict_flag=()
    [ -f "$dict" ] && dict_flag=(-dict="$dict")

    log=$BUILD/fuzz_$name.log
    echo "== fuzz_$name for ${SECONDS_EACH}s (log: $log)"
    rc=0
    # shellcheck disable=SC2086
    "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
        -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/${name}-" \
        "${dict_flag[@]}" ${FUZZ_FLAGS:-} "$new" "$corpus" >"$log" 2>&1 || rc=$?
    execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
    execs=${execs:-$(grep -oE 'Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' | tail -1)}
    if [ "$rc" -ne 0 ]; then
        failed=1
        summary+=("fuzz_$name: FAILED (exit $rc) after ${execs:-?} executions; see $log and $BUILD/artifacts/")
        grep -E 'ERROR|invariant failed|SUMMARY' "$log" | head -5 >&2 || true
        continue
    fi

    before=$(find "$corpus" -type f | wc -l)
    merge_into_corpus "$bin" "$corpus" "$new" "$BUILD/min/$name" >>"$log" 2>&1
    after=$(find "$corpus" -type f | wc -l)
    summary+=("fuzz_$name: ${execs:-?} executions in ${SECONDS_EACH}s, no crash; corpus $before -> $after files")
done

echo
printf '%s\n' "${summary[@]}"
exit "$failed"
