#!/usr/bin/env bash
# Replays every fuzz corpus file through its target as a regression test.
#
#   fuzz/replay.sh BUILD_DIR      e.g. fuzz/replay.sh build/asan
#
# Builds each fuzz/fuzz_<name>.c with fuzz/replay_main.c (no libFuzzer needed)
# using gcc against BUILD_DIR/libjern.a, with ASan+UBSan when that library was
# built with them, and runs it on every file in fuzz/corpus/<name>/. Exits
# non-zero if any target fails to build, crashes, or breaks an invariant.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${1:?usage: fuzz/replay.sh BUILD_DIR}
LIB=$BUILD/libjern.a
[ -f "$LIB" ] || { echo "replay: $LIB not found (run make BUILD=$BUILD first)" >&2; exit 1; }
CC=${REPLAY_CC:-gcc}
FLAGS="-std=gnu11 -g -O1"
# grep without -q reads all of nm's output: no SIGPIPE under pipefail.
if nm "$LIB" 2>/dev/null | grep '__asan_report' >/dev/null; then
    FLAGS+=" -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
fi
LIBS="-lsqlite3 -lcurl -lcjson -lyaml -lmariadb -lpcre2-8 -lcrypto -lm -pthread"
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

mkdir -p "$BUILD/fuzz"
status=0
total=0
for src in fuzz/fuzz_*.c; do
    name=${src#fuzz/fuzz_}
    name=${name%.c}
    bin=$BUILD/fuzz/replay_$name
    # shellcheck disable=SC2086
    if ! $CC $FLAGS -Isrc -I. -o "$bin" "$src" fuzz/replay_main.c "$LIB" $LIBS; then
        echo "replay: fuzz_$name: build failed" >&2
        status=1
        continue
    fi
    corpus=fuzz/corpus/$name
    if [ ! -d "$corpus" ]; then
        echo "replay: fuzz_$name: no corpus in $corpus" >&2
        status=1
        continue
    fi
    n=$(find "$corpus" -type f | wc -l)
    if find "$corpus" -type f -print0 | sort -z | xargs -0 -r "$bin" >/dev/null; then
        echo "ok   fuzz_$name: $n corpus files"
        total=$((total + n))
    else
        echo "FAIL fuzz_$name: a corpus file crashed or broke an invariant" >&2
        status=1
    fi
done
echo "replayed $total corpus files"
exit "$status"
