#!/usr/bin/env bash
# Cold-start benchmark: the time from the first request to an app at zero
# instances until its response, p50 and p99 over N cold starts (default 20),
# for the exec driver (the tiny C app as a process) and the container driver
# (the same app in a FROM-scratch image, real Podman via
# scripts/podman-service.sh). Run by `make bench` after bench/run.sh.
#
#   bench/coldstart.sh [N]        JERN_BENCH_DRIVERS="exec exec-fds exec-warm docker docker-warm" by default
#
# "exec-fds" deploys with --listen-fds: jern binds the port and hands the app
# the listening socket (LISTEN_FDS), so the held request waits in its queue.
#
# A "-warm" driver runs the app with `--warm`: at zero its instance is paused,
# not removed, and the first request resumes it.
#
# First it measures the app's own start-to-ready time (exec of jern-testapp
# until its first answer to GET /health, retried every 100 us): each cold
# start line then says how far above that it is (issue 22's target for exec:
# p50 <= the app's own time + 5 ms; containers: p50 < 250 ms).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-20}
drivers=${JERN_BENCH_DRIVERS:-exec exec-fds exec-warm docker docker-warm}
jern=$root/build/jern
[ -x "$jern" ] && [ -x "$root/build/jern-testapp" ] || make -s -C "$root" all
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ -n "${podman_dir:-}" ]; then
        for a in coldc coldcw; do
            podman ps -aq --filter label=jern.app=$a | xargs -r podman rm -f >/dev/null 2>&1 || true
        done
        [ -n "${tag:-}" ] && podman rmi -f "localhost/jern-testapp:$tag" >/dev/null 2>&1 || true
        "$root/scripts/podman-service.sh" stop "$podman_dir" >/dev/null 2>&1 || true
    fi
    # exec instances run under detached monitors: stop the ones of this state dir
    for meta in "$work"/state*/exec/instances/*/meta; do
        [ -f "$meta" ] || continue
        for k in pid monitor; do
            p=$(sed -n "s/^$k=//p" "$meta")
            [ -n "$p" ] && [ "$p" -gt 1 ] && kill -9 "$p" 2>/dev/null || true
        done
    done
    [ -n "${JERN_BENCH_KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# run_one DRIVER: starts a daemon, deploys, measures n cold starts.
run_one() {
    local drv=${1%-warm} mode=$1 app state port sock warm= fds=
    [ "$mode" != "$drv" ] && warm=--warm
    [ "$drv" = exec-fds ] && drv=exec fds=--listen-fds
    state=$work/state-$mode
    port=$(free_port)
    mkdir -p "$state"
    printf "error_log stderr info;\njern { listen 127.0.0.1:%s; }\n" "$port" >"$work/$mode.conf"
    local env=(JERN_STATE="$state" JERN_ADMIN="$state/admin.sock")
    if [ "$drv" = docker ]; then
        app=coldc${warm:+w}
        env+=(DOCKER_HOST="unix://$podman_dir/podman.sock")
    else
        app=colde${warm:+w}${fds:+f}
    fi
    env "${env[@]}" "$jern" serve -c "$work/$mode.conf" >"$work/$mode.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do [ -S "$state/admin.sock" ] && break; sleep 0.05; done
    if [ "$drv" = docker ]; then
        env "${env[@]}" "$jern" deploy $app --image "localhost/jern-testapp:$tag" --port 8080 \
            --health /health >/dev/null
    else
        (cd "$root" && env "${env[@]}" "$jern" deploy $app --cmd build/jern-testapp \
            --health /health $fds >/dev/null)
    fi
    # The same request to the running instance after the same pause: what a
    # request costs on this machine when the app is up (the wake-up of an
    # idle machine included), so the cold start's own part can be told apart.
    local warm_p50
    warm_p50=$(PORT=$port APP=$app N=$n /usr/bin/python3 - <<'PY'
import http.client, os, time
port, app, n, times = int(os.environ["PORT"]), os.environ["APP"], int(os.environ["N"]), []
for i in range(n):
    time.sleep(0.2)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    t0 = time.perf_counter()
    c.request("GET", "/", headers={"Host": f"{app}.localhost"})
    c.getresponse().read()
    times.append((time.perf_counter() - t0) * 1000)
    c.close()
times.sort()
print(f"{times[len(times) // 2]:.2f}")
PY
)
    env "${env[@]}" "$jern" scale $app --min 0 --max 1 --idle 100ms $warm >/dev/null
    JERN_STATE=$state PORT=$port APP=$app N=$n DRV=$mode RAW_P50=$raw_p50 WARM_P50=$warm_p50 \
        /usr/bin/python3 - <<'PY'
import http.client, json, os, socket, statistics, time

state, port, app, n = os.environ["JERN_STATE"], int(os.environ["PORT"]), os.environ["APP"], int(os.environ["N"])

class U(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(state + "/admin.sock")

def instances():
    """Instances that could take a request (paused ones count as zero)."""
    c = U("localhost", timeout=10)
    c.request("GET", f"/v1/apps/{app}/ps")
    r = json.loads(c.getresponse().read())
    c.close()
    return len([i for i in r["instances"] if i["state"] != "paused"])

times = []
for i in range(n):
    deadline = time.time() + 60
    while instances() and time.time() < deadline:
        time.sleep(0.05)
    if instances():
        raise SystemExit(f"{app}: did not scale to zero")
    time.sleep(0.2)  # let the drain and removal settle
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    t0 = time.perf_counter()
    c.request("GET", "/", headers={"Host": f"{app}.localhost"})
    r = c.getresponse()
    body = r.read()
    dt = (time.perf_counter() - t0) * 1000
    c.close()
    if r.status != 200:
        raise SystemExit(f"{app}: cold start {i} answered {r.status}: {body[:200]!r}")
    times.append(dt)
times.sort()
p = lambda q: times[min(len(times) - 1, int(round(q * (len(times) - 1))))]
raw, warm = float(os.environ["RAW_P50"]), float(os.environ["WARM_P50"])
print(f"cold start  {os.environ['DRV']:11s} n={n}  p50 {p(0.5):7.1f} ms  p99 {p(0.99):7.1f} ms  "
      f"min {times[0]:7.1f} ms  max {times[-1]:7.1f} ms  (p50 - raw app start p50: "
      f"{p(0.5) - raw:+.1f} ms; a request to the running app after the same pause: "
      f"p50 {warm:.1f} ms, so the start itself adds {p(0.5) - raw - warm:+.1f} ms)")
PY
}

# raw_start: the app's own start-to-ready time, p50 over n starts.
raw_start() {
    N=$n APP_BIN=$root/build/jern-testapp /usr/bin/python3 - <<'PY'
import http.client, os, socket, subprocess, time
n, times = int(os.environ["N"]), []
for i in range(n):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    p = subprocess.Popen([os.environ["APP_BIN"], str(port)], stderr=subprocess.DEVNULL,
                         env=dict(os.environ, HOST="127.0.0.1"))
    deadline = t0 + 10
    while time.perf_counter() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/health")
            ok = c.getresponse().status == 200
            c.close()
            if ok:
                break
        except OSError:
            time.sleep(0.0001)
    times.append((time.perf_counter() - t0) * 1000)
    p.terminate()
    p.wait()
times.sort()
print(f"{times[len(times) // 2]:.2f} {times[0]:.2f} {times[-1]:.2f}")
PY
}

read -r raw_p50 raw_min raw_max < <(raw_start)
echo "raw app start  exec of jern-testapp to its first /health answer, n=$n  p50 $raw_p50 ms  min $raw_min ms  max $raw_max ms"

for drv in $drivers; do
    if [ "${drv%-warm}" = docker ] && [ -z "${podman_dir:-}" ]; then
        if ! command -v podman >/dev/null; then
            echo "cold start  docker  skipped: podman is not installed (scripts/install-deps.sh)"
            continue
        fi
        podman_dir=$work/podman
        mkdir -p "$podman_dir"
        "$root/scripts/podman-service.sh" start "$podman_dir" >/dev/null
        export CONTAINERS_CONF=$podman_dir/containers.conf
        tag=cold-$$
        "$root/scripts/build-testapp-image.sh" "$tag" >/dev/null
    fi
    run_one "$drv"
done
