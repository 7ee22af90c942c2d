#!/usr/bin/env bash
# Runs every test against the sanitizer build (build/asan):
#   1. each cmocka unit test binary under build/asan/tests/unit
#   2. fuzz corpora replayed through the parsers (when fuzz/replay exists)
#   3. the structure checks (scripts/check-structure.py: include loops in a
#      folder, files over 1,000 lines, functions over 150)
#   4. the pytest integration suite, driving the real binary on loopback (and
#      the dashboard in chromium: tests/ui, npm ci first)
# Ends with "N passed, N failed" and exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."

# A root jern runs exec apps as the user jern-app (docs/RUNTIME.md), which must
# reach the test programs and the directories deploys are made from. A checkout
# under a private directory (/root is 0700) is tested from a copy that it can.
if [ "$(id -u)" -eq 0 ] && id jern-app >/dev/null 2>&1 && [ -z "${JERN_TEST_COPY:-}" ] &&
    ! runuser -u jern-app -- test -x "$PWD/build/jern-testapp"; then
    copy=$(mktemp -d /tmp/jern-test-XXXXXX)
    chmod 755 "$copy"
    echo "== $PWD is private to root: running the tests from a copy in $copy"
    cp -a . "$copy/"
    cd "$copy"
    JERN_TEST_COPY=1 tests/run.sh "$@"
    rc=$?
    cd / && rm -rf "$copy"
    exit "$rc"
fi

BUILD=${JERN_TEST_BUILD:-build/asan}
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
passed=0
failed=0
failures=()

echo "== unit tests ($BUILD)"
while IFS= read -r t; do
    [ -x "$t" ] || continue
    out=$("$t" 2>&1)
    rc=$?
    if [ "$rc" -eq 0 ]; then
        n=$(grep -c '^\[       OK \]' <<<"$out")
        passed=$((passed + n))
        echo "ok   ${t#"$BUILD"/tests/unit/} ($n)"
    else
        n_ok=$(grep -c '^\[       OK \]' <<<"$out")
        # cmocka's summary line says how many ("[  FAILED  ] N test(s), listed
        # below:"); each failed test also has two lines of its own
        n_bad=$(grep -oE '^\[  FAILED  \] [0-9]+ test' <<<"$out" | grep -oE '[0-9]+' | head -1)
        [ -z "$n_bad" ] || [ "$n_bad" -eq 0 ] && n_bad=1
        passed=$((passed + n_ok))
        failed=$((failed + n_bad))
        failures+=("unit: ${t#"$BUILD"/tests/unit/}")
        echo "FAIL ${t#"$BUILD"/tests/unit/} (exit $rc)"
        echo "$out" | tail -40
    fi
done < <(find "$BUILD/tests/unit" -type f -name 'test_*' 2>/dev/null | sort)

if [ -x fuzz/replay.sh ]; then
    echo "== fuzz corpora replay"
    if out=$(fuzz/replay.sh "$BUILD" 2>&1); then
        echo "$out" | tail -5
        passed=$((passed + 1))
    else
        echo "$out" | tail -40
        failed=$((failed + 1))
        failures+=("fuzz corpus replay")
    fi
fi

echo "== structure (scripts/check-structure.py)"
if out=$(python3 scripts/check-structure.py 2>&1); then
    echo "$out" | tail -1
    passed=$((passed + 1))
else
    echo "$out"
    failed=$((failed + 1))
    failures+=("structure: scripts/check-structure.py")
fi

# The browser tests' driver (playwright-core; it drives Debian's chromium).
stamp=tests/ui/node_modules/.installed
if [ ! -f "$stamp" ] || [ tests/ui/package-lock.json -nt "$stamp" ]; then
    (cd tests/ui && npm ci --no-audit --no-fund --loglevel=error) && touch "$stamp"
fi

echo "== integration tests (pytest, $BUILD/jern)"
export JERN_BIN="$PWD/$BUILD/jern"
export JERN_TESTAPP="$PWD/build/jern-testapp"
export JERN_TESTAPP_STATIC="$PWD/build/jern-testapp-static"
# Daemons under test are stopped by signal; leak reports at exit would only be noise there.
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=0"
# The cluster suites (loopback addresses of their own, etcd and daemons on free
# ports; mostly waiting on leases and rounds) run beside the rest in a second
# pytest, whose output is shown after the first's. With PYTEST_ARGS (a -k, a
# single file) everything runs in one pytest as before.
side=()
if [ -z "${PYTEST_ARGS:-}" ]; then
    for f in test_cluster.py test_cluster_etcd3.py test_cluster_certs.py \
        test_cluster_autoscale.py test_apply_cluster.py; do
        [ -f "tests/integration/$f" ] && side+=("tests/integration/$f")
    done
fi
ignore=()
for f in "${side[@]}"; do ignore+=("--ignore=$f"); done
side_pid=
if [ "${#side[@]}" -gt 0 ]; then
    /usr/bin/python3 -m pytest -q -p no:cacheprovider "${side[@]}" >build/pytest-side.log 2>&1 &
    side_pid=$!
fi

# Adds one pytest run's outcome (its log, its exit code) to the totals.
count_pytest() {
    local log=$1 rc=$2 summary p f e
    summary=$(grep -E '^(=+ )?[0-9]+ (passed|failed)|^=+ .*(passed|failed|error)' "$log" | tail -1)
    p=$(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+' || echo 0)
    f=$(grep -oE '[0-9]+ failed' <<<"$summary" | grep -oE '[0-9]+' || echo 0)
    e=$(grep -oE '[0-9]+ error' <<<"$summary" | grep -oE '[0-9]+' || echo 0)
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0} + ${e:-0}))
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ] && [ "$((${f:-0} + ${e:-0}))" -eq 0 ]; then
        failed=$((failed + 1))
        failures+=("pytest ($log) exited $rc")
    fi
}

/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration "${ignore[@]}" \
    ${PYTEST_ARGS:-} 2>&1 | tee build/pytest.log
count_pytest build/pytest.log "${PIPESTATUS[0]}"
if [ -n "$side_pid" ]; then
    wait "$side_pid"
    side_rc=$?
    echo "== cluster suites (run beside the others): ${side[*]##*/}"
    cat build/pytest-side.log
    count_pytest build/pytest-side.log "$side_rc"
fi

echo
for f in "${failures[@]}"; do echo "failed: $f"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
