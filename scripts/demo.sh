#!/usr/bin/env bash
# make demo: `jern serve` on loopback, then `jern deploy` of a sample app as
# plain processes (the exec driver: no container engine needed), a few
# requests through the gateway, and the commands to deploy a new release and
# to roll back. Runs until Ctrl-C (or SIGTERM, even two in a row as timeout
# and make send them), which scales the app to zero and stops jern.
# JERN_DEMO_ONESHOT=1 stops right after the requests; JERN_DEMO_PORT,
# JERN_DEMO_DIR (default build/demo) and JERN_BIN (default build/jern) let the
# tests run it beside other demos.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${JERN_DEMO_PORT:-8080}
dir=${JERN_DEMO_DIR:-build/demo}
jern=${JERN_BIN:-$PWD/build/jern}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "jern demo: port $PORT on 127.0.0.1 is already in use;" \
        "stop what uses it, or set JERN_DEMO_PORT" >&2
    exit 1
fi

# Each demo starts from an empty state, so its first release is v1.
rm -rf "$dir/state"
export JERN_STATE="$dir/state"
export JERN_ADMIN="$JERN_STATE/admin.sock"
cat >"$dir/jern.conf" <<CONF
jern {
    listen 127.0.0.1:$PORT;
    state_dir $JERN_STATE;
    base_domain localhost;
}
CONF

serve_pid=
cleaning=
cleanup() {
    # Once: a second signal that lands before the trap below is set (timeout
    # and make each send one) would otherwise run a second cleanup inside the
    # first, and two `jern scale demo 0` at once.
    [ -z "$cleaning" ] || return 0
    cleaning=1
    # Ignore, not default: a second signal must not cut the cleanup short
    # and leave jern running.
    trap '' INT TERM
    trap - EXIT
    echo
    echo "jern demo: scaling the app to zero and stopping jern"
    if [ -n "$serve_pid" ]; then
        # Each step is bounded: a stop that stalls is reported, never waited on forever.
        timeout 30 "$jern" scale demo 0 >/dev/null 2>&1 ||
            echo "jern demo: scaling to zero did not finish; see $dir/jern.log" >&2
        kill -TERM "$serve_pid" 2>/dev/null || true
        for _ in $(seq 200); do
            kill -0 "$serve_pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$serve_pid" 2>/dev/null; then
            echo "jern demo: jern serve did not stop within 20 s of SIGTERM; killing it" \
                "(its log: $dir/jern.log)" >&2
            kill -KILL "$serve_pid" 2>/dev/null || true
        fi
        wait "$serve_pid" 2>/dev/null || true
    fi
}
trap cleanup INT TERM EXIT

# Its own session: a Ctrl-C at the terminal (or a signal to make's process
# group) reaches this script, whose cleanup scales the app to zero while jern
# still runs, and only then stops it. Instances outlive their daemon by design
# (adoption after a restart), so jern must not be stopped first.
setsid "$jern" serve -c "$dir/jern.conf" 2>"$dir/jern.log" &
serve_pid=$!
for _ in $(seq 100); do
    "$jern" status >/dev/null 2>&1 && break
    if ! kill -0 "$serve_pid" 2>/dev/null; then
        echo "jern demo: jern serve exited; its log ($dir/jern.log) ends with:" >&2
        tail -5 "$dir/jern.log" >&2
        exit 1
    fi
    sleep 0.05
done

echo "jern demo: jern serve runs (apps on http://*.localhost:$PORT/, state in $JERN_STATE)"
# A root jern runs exec apps as the user jern-app (docs/RUNTIME.md), which must
# reach the program and the directory the deploy is made from. A checkout under
# a private directory (/root is 0700) deploys a copy from a directory it can.
app=build/jern-testapp
appdir=$PWD
if [ "$(id -u)" -eq 0 ] && id jern-app >/dev/null 2>&1 &&
    ! runuser -u jern-app -- test -x "$PWD/$app"; then
    appdir=/tmp/jern-demo-app
    mkdir -p "$appdir"
    cp "$app" "$appdir/"
    chmod 755 "$appdir" "$appdir/jern-testapp"
    echo "jern demo: $PWD is private to root, so the app runs from a copy in $appdir"
    app=$appdir/jern-testapp
fi
echo
echo "  \$ jern deploy demo --cmd $app --env APP_VERSION=v1 --health /health --instances 2"
(cd "$appdir" && "$jern" deploy demo --cmd "$app" --env APP_VERSION=v1 --health /health --instances 2)
echo
echo "jern demo: four requests through the gateway:"
for _ in 1 2 3 4; do
    printf '  $ curl -H "Host: demo.localhost" http://127.0.0.1:%s/   ->  ' "$PORT"
    curl -fsS -H "Host: demo.localhost" "http://127.0.0.1:$PORT/"
done
echo
"$jern" ps demo
echo
# Commands that work as printed, pasted into another shell.
echo "Try, in another shell:"
echo "  cd $appdir"
echo "  export JERN_ADMIN=$JERN_ADMIN"
echo "  $jern deploy demo --cmd $app --env APP_VERSION=v2 --health /health"
echo "  curl -H 'Host: demo.localhost' http://127.0.0.1:$PORT/"
echo "  $jern rollback demo"
echo "  $jern releases demo"
echo "  $jern scale demo 3"
echo "  $jern ps demo"
echo "  $jern logs demo"
if [ -n "${JERN_DEMO_ONESHOT:-}" ]; then
    exit 0
fi
echo "Press Ctrl-C to stop."
# Short waits, not one long `wait "$serve_pid"`: a Ctrl-C that lands just as
# bash enters a wait can stay pending until the wait ends, and then the
# cleanup would wait for jern to exit by itself. The trap runs within 0.5 s.
while kill -0 "$serve_pid" 2>/dev/null; do
    sleep 0.5 &
    wait $! 2>/dev/null || true
done
wait "$serve_pid" 2>/dev/null || true
