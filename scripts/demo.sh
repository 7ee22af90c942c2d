#!/usr/bin/env bash
# make demo: jern's gateway in front of two demo backends, all on loopback.
# Starts build/jern-testapp twice (ports 9001, 9002), then build/jern gateway
# on 127.0.0.1:8080 with the seed's least_conn configuration, shows a few
# requests going through, and runs until Ctrl-C, which stops everything.
# JERN_DEMO_ONESHOT=1 stops right after the requests (used by the tests).
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${JERN_DEMO_PORT:-8080}
B1=${JERN_DEMO_BACKEND1:-9001}
B2=${JERN_DEMO_BACKEND2:-9002}
dir=build/demo
mkdir -p "$dir"

for p in "$PORT" "$B1" "$B2"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
        echo "jern demo: port $p on 127.0.0.1 is already in use;" \
            "stop what uses it, or set JERN_DEMO_PORT / JERN_DEMO_BACKEND1 / JERN_DEMO_BACKEND2" >&2
        exit 1
    fi
done

pids=()
cleanup() {
    trap - INT TERM EXIT
    echo
    echo "jern demo: stopping"
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

APP_NAME=backend-1 build/jern-testapp "$B1" >"$dir/backend-1.log" 2>&1 &
pids+=($!)
APP_NAME=backend-2 build/jern-testapp "$B2" >"$dir/backend-2.log" 2>&1 &
pids+=($!)

# The seed's Pattern 1, unchanged but for loopback addresses.
cat >"$dir/jern.conf" <<CONF
worker_processes auto;
events {
    worker_connections 4096;
    use epoll;
}
http {
    access_log $PWD/$dir/access.log;
    upstream api_cluster {
        least_conn;
        server 127.0.0.1:$B1 max_fails=3 fail_timeout=30s;
        server 127.0.0.1:$B2 max_fails=3 fail_timeout=30s;
    }
    server {
        listen 127.0.0.1:$PORT;
        server_name localhost;
        location / {
            proxy_pass http://api_cluster;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection 'upgrade';
            proxy_set_header Host \$host;
            proxy_cache_bypass \$http_upgrade;
            proxy_read_timeout 300;
            proxy_connect_timeout 300;
        }
    }
}
CONF

build/jern gateway -t -c "$dir/jern.conf"
build/jern gateway -c "$dir/jern.conf" 2>"$dir/error.log" &
pids+=($!)

for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$PORT/" >/dev/null 2>&1 && break
    sleep 0.05
done

echo
echo "jern demo: the gateway listens on http://127.0.0.1:$PORT/ (config: $dir/jern.conf)"
echo "jern demo: four requests through it, balanced least_conn over two backends:"
for _ in 1 2 3 4; do
    printf '  $ curl http://127.0.0.1:%s/   ->  ' "$PORT"
    curl -fsS "http://127.0.0.1:$PORT/"
done
echo
echo "Try:  curl -i http://127.0.0.1:$PORT/"
echo "      kill -HUP $(echo "${pids[2]}")      # reload the config without dropping a request"
echo "      tail -f $dir/access.log"
if [ -n "${JERN_DEMO_ONESHOT:-}" ]; then
    exit 0
fi
echo "Press Ctrl-C to stop."
wait "${pids[2]}"
