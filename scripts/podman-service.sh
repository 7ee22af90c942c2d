#!/usr/bin/env bash
# Starts or stops Podman's Docker-compatible API service for jern's docker driver.
#
#   scripts/podman-service.sh start DIR   socket at DIR/podman.sock; waits until /_ping answers
#   scripts/podman-service.sh stop DIR    stops the service started for DIR
#
# Idempotent: `start` does nothing when DIR's service already answers; `stop` does
# nothing when none runs. DIR also receives containers.conf (runc, fixed ulimits: this
# machine lacks CAP_SYS_RESOURCE and mixes cgroup v1/v2, see docs/RUNTIME.md),
# registries.conf, the service's log (podman.log) and its pid (podman.pid).
#
# JERN_INSECURE_REGISTRIES="127.0.0.1:5000 ..." marks registries reachable over plain
# HTTP (a loopback test registry); they are written into DIR/registries.conf.
set -euo pipefail

usage() {
    echo "usage: $0 start|stop DIR" >&2
    exit 2
}
[ $# -eq 2 ] || usage
cmd=$1
dir=$2
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
sock="$dir/podman.sock"
pidfile="$dir/podman.pid"

ping_ok() {
    curl -sf --max-time 2 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1
}

running_pid() {
    [ -f "$pidfile" ] || return 1
    local pid
    pid=$(cat "$pidfile")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

case "$cmd" in
start)
    if ! command -v podman >/dev/null; then
        echo "$0: podman is not installed (scripts/install-deps.sh installs it)" >&2
        exit 1
    fi
    if running_pid >/dev/null && ping_ok; then
        exit 0
    fi
    cat >"$dir/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1000:1000"]
log_driver = "k8s-file"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
    {
        echo 'unqualified-search-registries = []'
        for r in ${JERN_INSECURE_REGISTRIES:-}; do
            printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$r"
        done
    } >"$dir/registries.conf"
    rm -f "$sock"
    CONTAINERS_CONF="$dir/containers.conf" CONTAINERS_REGISTRIES_CONF="$dir/registries.conf" \
        setsid podman system service --time=0 "unix://$sock" >>"$dir/podman.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    for _ in $(seq 1 150); do
        if ping_ok; then
            exit 0
        fi
        if ! running_pid >/dev/null; then
            echo "$0: podman system service exited; its log ($dir/podman.log) ends with:" >&2
            tail -5 "$dir/podman.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "$0: podman service did not answer on $sock within 15 s (see $dir/podman.log)" >&2
    exit 1
    ;;
stop)
    if pid=$(running_pid); then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile" "$sock"
    ;;
*)
    usage
    ;;
esac
