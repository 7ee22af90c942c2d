"""Scale to zero, cold starts and concurrency autoscaling (docs/SCALING.md),
end to end: the real daemon, real instances (exec driver; one scenario with
real Podman), traffic through jern's gateway, short windows so the whole file
stays well under a minute or two."""
import os
import re
import signal
import subprocess
import threading
import time
import uuid

import pytest
import requests

from conftest import have
from deploykit import exec_daemon, podman  # noqa: F401 (the d and podman fixtures)
from deploykit import TESTAPP, DeployDaemon, exec_cmd, open_dir, wait_for


@pytest.fixture
def shared():
    """Where marker files the apps look at go (they may not run as root)."""
    with open_dir() as dd:
        yield dd


def name():
    return f"sl{uuid.uuid4().hex[:8]}"


def deploy(d, app, cmd=None, *extra):
    r = d.jern("deploy", app, "--cmd", cmd or exec_cmd(), "--health", "/health", *extra)
    assert r.returncode == 0, r.stdout + r.stderr


def scale(d, app, *args, ok=True):
    r = d.jern("scale", app, *args)
    if ok:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def running(d, app):
    return [p for p in d.ps(app) if p["state"] == "running"]


def wait_zero(d, app, timeout=10):
    wait_for(lambda: not d.ps(app), timeout, what=f"{app} scaled to zero")


def metric(d, series, app):
    text = d.admin().get("/metrics").text
    m = re.search(r"^%s\{app=\"%s\"\} (\S+)$" % (re.escape(series), app), text, re.M)
    assert m, f"{series} for {app} missing from /metrics"
    return float(m.group(1))


def get(d, app, path="/", timeout=20):
    return requests.get(d.url(path), headers={"Host": f"{app}.localhost"}, timeout=timeout)


def test_scale_to_zero_then_one_request_starts_one(d):
    app = name()
    deploy(d, app)
    r = scale(d, app, "--min", "0", "--max", "2", "--idle", "700ms")
    assert "autoscale min 0 max 2" in r.stdout, r.stdout
    wait_zero(d, app)
    assert d.ps(app) == []
    t0 = time.time()
    r = get(d, app)
    took = time.time() - t0
    assert r.status_code == 200 and r.text.startswith("hello from testapp"), (r.status_code, r.text)
    assert took < 5, took
    assert len(running(d, app)) == 1
    assert metric(d, "jern_app_cold_starts_total", app) == 1
    # the app stays at one while requests keep coming, then goes back to zero
    ps = d.jern("ps", app)
    assert ps.returncode == 0 and "autoscale: min 0 max 2" in ps.stdout, ps.stdout
    assert "cold starts 1" in ps.stdout and "a request arrived" in ps.stdout, ps.stdout
    wait_zero(d, app)


def test_100_concurrent_requests_share_one_cold_start(d):
    app = name()
    deploy(d, app)
    scale(d, app, "--min", "0", "--max", "3", "--idle", "500ms", "--concurrency", "1000")
    wait_zero(d, app)
    results = [None] * 100

    def one(i):
        try:
            r = get(d, app, f"/n{i}")
            results[i] = (r.status_code, r.text)
        except Exception as e:  # noqa: BLE001 - recorded and asserted below
            results[i] = (0, repr(e))

    ts = [threading.Thread(target=one, args=(i,)) for i in range(100)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    bad = [x for x in results if not x or x[0] != 200]
    assert not bad, bad[:5]
    assert metric(d, "jern_app_cold_starts_total", app) == 1
    assert len(d.ps(app)) == 1


def test_queue_bound_and_timeout_answer_503_with_retry_after(d, shared):
    app = name()
    slow = shared / "slow"
    # the release starts at once now, and takes 20 s to listen once "slow" exists
    deploy(d, app, f"if [ -e {slow} ]; then sleep 20; fi; exec {exec_cmd()}")
    scale(d, app, "--min", "0", "--max", "1", "--idle", "500ms", "--queue", "3",
          "--wait-timeout", "1500ms")
    wait_zero(d, app)
    slow.write_text("")
    out = []

    def one():
        r = get(d, app)
        out.append((r.status_code, r.headers.get("Retry-After"), r.text, time.time()))

    t0 = time.time()
    held = [threading.Thread(target=one) for _ in range(3)]
    for t in held:
        t.start()
    time.sleep(0.4)
    # the queue is full: answered at once
    for _ in range(2):
        r = get(d, app)
        assert r.status_code == 503 and r.headers.get("Retry-After") == "1", r
        assert "too many requests waiting" in r.text
        assert time.time() - t0 < 1.2
    for t in held:
        t.join(10)
    assert len(out) == 3
    for status, retry, text, when in out:
        assert status == 503 and retry == "1" and "did not become ready in time" in text
        assert 1.3 < when - t0 < 4, when - t0


def test_failed_cold_start_answers_503_then_retries(d, shared):
    app = name()
    bad = shared / "bad"
    deploy(d, app, f"if [ -e {bad} ]; then export FAIL_HEALTH=1; fi; exec {exec_cmd()}",
           "--health-timeout", "1")
    scale(d, app, "--min", "0", "--max", "1", "--idle", "500ms", "--wait-timeout", "15s")
    wait_zero(d, app)
    bad.write_text("")
    t0 = time.time()
    r = get(d, app)
    assert r.status_code == 503 and r.headers.get("Retry-After") == "1"
    assert "could not start" in r.text and "answered 500" in r.text, r.text
    assert time.time() - t0 < 8  # the health deadline (1 s), not the 15 s wait
    assert metric(d, "jern_app_cold_start_failures_total", app) == 1
    # the failed attempt is not retried on the daemon's own: only a new request
    # starts another (a retry here would fail again, the marker still there)
    time.sleep(1.5)
    assert metric(d, "jern_app_cold_starts_total", app) == 1
    wait_zero(d, app)
    bad.unlink()
    r = get(d, app)
    assert r.status_code == 200 and r.text.startswith("hello"), r.text
    assert metric(d, "jern_app_cold_starts_total", app) == 2


def test_load_scales_up_within_max_then_down_after_the_window(d):
    if not have("wrk"):
        pytest.skip("wrk is needed (scripts/install-deps.sh)")
    app = name()
    deploy(d, app)
    scale(d, app, "--min", "1", "--max", "3", "--concurrency", "2", "--stable-window", "3s",
          "--panic-window", "1s")
    seen = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            seen.append(len(d.ps(app)))
            time.sleep(0.2)

    w = threading.Thread(target=watch)
    w.start()
    p = subprocess.Popen(["wrk", "-t2", "-c10", "-d6s", "-H", f"Host: {app}.localhost",
                          d.url("/slow?ms=20")], stdout=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: len(running(d, app)) == 3, 8, what="3 instances under load")
    finally:
        out, _ = p.communicate(timeout=30)
    assert "Non-2xx" not in out and "Socket errors" not in out, out
    wait_for(lambda: len(d.ps(app)) == 1, 20, step=0.2, what="back to 1 after the window")
    stop.set()
    w.join()
    assert max(seen) <= 3, seen
    assert metric(d, "jern_app_scale_ups_total", app) >= 1
    assert metric(d, "jern_app_scale_downs_total", app) >= 1
    ps = d.jern("ps", app).stdout
    assert "last decision: 3 -> 1: stable" in ps or "-> 1: stable" in ps, ps


def test_warm_mode_pauses_at_zero_and_resumes_the_same_instance(d):
    app = name()
    deploy(d, app)
    r = scale(d, app, "--min", "0", "--max", "1", "--idle", "500ms", "--warm")
    assert "warm (pause at zero)" in r.stdout, r.stdout
    before = running(d, app)
    assert len(before) == 1
    pid = int(get(d, app, "/pid").text)
    wait_for(lambda: [p["state"] for p in d.ps(app)] == ["paused"], 10, what="paused")
    # paused, not stopped: the process is still there, stopped (state T)
    with open(f"/proc/{pid}/stat") as f:
        assert f.read().split(") ")[1][0] == "T"
    t0 = time.time()
    r = get(d, app, "/pid")
    assert r.status_code == 200 and int(r.text) == pid, r.text
    assert time.time() - t0 < 2
    after = running(d, app)
    assert [p["name"] for p in after] == [before[0]["name"]]
    assert metric(d, "jern_app_warm_starts_total", app) == 1
    assert metric(d, "jern_app_cold_starts_total", app) == 1
    # `jern scale APP N` after warm mode: a fixed count, autoscaling off
    wait_for(lambda: [p["state"] for p in d.ps(app)] == ["paused"], 10, what="paused again")
    r = get(d, app)
    assert r.status_code == 200


def test_deploy_waits_for_the_autoscalers_own_scale_down_instead_of_failing(procs, tmp_path):
    """A user's deploy that arrives while the autoscaler scales the app to
    zero waits for that job (the CLI says so) and then runs; it does not fail
    with "already running" (a deploy someone else asked for still does:
    test_deploy.py). The instance ignores SIGTERM, so stopping it takes the
    daemon's stop timeout (5 s here; jern-testapp keeps a SIGTERM ignored at
    exec ignored), and the deploy meets the job even when a loaded machine
    stalls the test for a few seconds."""
    d = DeployDaemon(procs, tmp_path)
    d.env_extra = {"JERN_STOP_TIMEOUT": "5"}
    d.start()
    try:
        app = name()
        deploy(d, app, "trap '' TERM; exec " + exec_cmd())
        scale(d, app, "--min", "0", "--max", "1", "--idle", "300ms")
        wait_for(lambda: metric(d, "jern_app_scale_downs_total", app) >= 1, 10, step=0.05,
                 what="the autoscaler's scale-down started")
        r = d.jern("deploy", app, "--cmd", exec_cmd(), "--health", "/health")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "is busy: the autoscaler is scaling it" in r.stderr, r.stderr
        assert "waiting for it to finish" in r.stderr, r.stderr
        assert "done in" in r.stdout, r.stdout
        assert get(d, app).status_code == 200
    finally:
        d.stop()
        d.cleanup_exec()


def test_bad_scale_input_gets_clear_errors(d):
    app = name()
    deploy(d, app)
    r = scale(d, app, "--min", "3", "--max", "2", ok=False)
    assert r.returncode != 0 and "min (3) is above max (2)" in r.stderr, r.stderr
    r = scale(d, app, "--min", "0", "--max", "2", "--idle", "soon", ok=False)
    assert r.returncode != 0 and "not a duration" in r.stderr, r.stderr
    r = scale(d, "nosuchapp", "--min", "0", "--max", "1", ok=False)
    assert r.returncode != 0 and "does not exist" in r.stderr, r.stderr
    a = d.admin().post(f"/v1/apps/{app}/autoscale", {"min": 0, "bogus": 1})
    assert a.status == 400 and "unknown field" in a.text
    # `jern scale APP N` fixes the count again: autoscaling is off
    scale(d, app, "--min", "0", "--max", "2", "--idle", "1h")
    scale(d, app, "2")
    assert d.admin().get(f"/v1/apps/{app}/autoscale").json() == {"fixed": True, "instances": 2}


def test_container_scales_to_zero_and_cold_starts(procs, tmp_path, podman):
    d = DeployDaemon(procs, tmp_path, docker_sock=podman["sock"])
    d.start()
    app = name()
    try:
        r = d.jern("deploy", app, "--image", podman["image"], "--port", "8080", "--health",
                   "/health")
        assert r.returncode == 0, r.stdout + r.stderr
        scale(d, app, "--min", "0", "--max", "1", "--idle", "500ms")
        wait_zero(d, app, timeout=30)
        gone = subprocess.run(["podman", "ps", "-q", "--filter", f"label=jern.app={app}"],
                              capture_output=True, text=True, timeout=60)
        assert gone.stdout.strip() == "", "the container still runs at zero"
        t0 = time.time()
        r = get(d, app)
        assert r.status_code == 200 and r.text == f"hello from testapp {podman['tag']}\n", r.text
        assert time.time() - t0 < 10
        assert metric(d, "jern_app_cold_starts_total", app) == 1
        assert [p["driver"] for p in running(d, app)] == ["docker"]
        # the engine was asked its version once, not by each job (Podman takes
        # most of a second to answer GET /version)
        said = [ln for ln in d.proc.output().splitlines() if "docker: Podman" in ln]
        assert len(said) == 1, said
    finally:
        d.stop()
        subprocess.run(f"podman ps -aq --filter label=jern.app={app} | xargs -r podman rm -f",
                       shell=True, capture_output=True, timeout=120)


def test_cold_start_hands_the_app_its_listening_socket(d):
    """--listen-fds: jern binds the instance's port and the app gets the socket
    as fd 3 (LISTEN_FDS/LISTEN_PID), so the request held for a cold start
    waits in the socket's queue instead of on probes. A command that is not
    one program is refused: the socket must reach the process it runs."""
    app = name()
    r = d.jern("deploy", app, "--cmd", f"{exec_cmd()}; true", "--listen-fds")
    assert r.returncode != 0 and "one program" in r.stdout + r.stderr, r.stdout + r.stderr
    deploy(d, app, None, "--listen-fds")
    scale(d, app, "--min", "0", "--max", "1", "--idle", "500ms")
    wait_zero(d, app)
    r = get(d, app)
    assert r.status_code == 200 and r.text.startswith("hello from testapp"), r.text
    logs = d.jern("logs", app)
    assert "accepting on the inherited socket" in logs.stdout, logs.stdout + logs.stderr
    assert "listening on" not in logs.stdout  # it bound nothing itself


def test_socket_activated_cold_start_that_fails_is_answered_and_dropped(d, shared):
    """With --listen-fds the held request is routed to the new instance the
    moment its monitor has the socket (it listens already, before the app's
    process exists); the health check still
    decides whether it stays. An app that cannot start: the request gets a
    prompt 502/503 (never a hang), the instance leaves the upstream, and a
    later request starts it again once it can."""
    import shutil
    app = name()
    prog = shared / "app"
    shutil.copy(TESTAPP, prog)
    deploy(d, app, str(prog), "--listen-fds", "--health-timeout", "2")
    scale(d, app, "--min", "0", "--max", "1", "--idle", "500ms")
    wait_zero(d, app)
    prog.rename(shared / "gone")
    t0 = time.time()
    r = get(d, app)
    assert r.status_code in (502, 503), (r.status_code, r.text)
    assert time.time() - t0 < 8
    wait_for(lambda: metric(d, "jern_app_cold_start_failures_total", app) == 1, 10,
             what="the failed cold start counted")
    wait_zero(d, app)
    (shared / "gone").rename(prog)
    time.sleep(1.2)  # past the quiet second after a failure
    r = get(d, app)
    assert r.status_code == 200 and r.text.startswith("hello from testapp"), r.text


def spare_of(daemon_pid):
    """The pid of the spare jern-monitor waiting on a socket to daemon_pid
    (the two ends of a unix SOCK_SEQPACKET pair, as `ss -xp` shows them), or
    None when there is none."""
    out = subprocess.run(["ss", "-xpn"], capture_output=True, text=True, timeout=10).stdout
    rows = []
    for line in out.splitlines():
        f = line.split()
        m = re.search(r"pid=(\d+)", line)
        if len(f) >= 8 and f[0] == "u_seq" and m:
            rows.append((f[5], f[7], int(m.group(1))))
    peers = {peer for _, peer, pid in rows if pid == daemon_pid}
    return next((pid for local, _, pid in rows if local in peers and pid != daemon_pid), None)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_cold_start_takes_the_spare_monitor(procs, tmp_path):
    """After a start, a spare jern-monitor waits, already detached; the next
    cold start hands it the instance (the instance's monitor is that very
    process) and a new spare follows. A spare killed by hand is replaced: the
    start after it still works. kill -9 of the daemon ends its spare (its
    socket closes), so nothing of the daemon is left waiting."""
    dd = DeployDaemon(procs, tmp_path)
    dd.start()
    daemon = dd.proc.pid
    try:
        app = name()
        deploy(dd, app)
        wait_for(lambda: spare_of(daemon), 10, what="a spare monitor after the deploy")
        scale(dd, app, "--min", "0", "--max", "1", "--idle", "300ms")
        wait_zero(dd, app)
        spare = spare_of(daemon)
        assert spare
        r = get(dd, app)
        assert r.status_code == 200 and r.text.startswith("hello from testapp"), r.text
        metas = list((dd.state / "exec" / "instances").glob("*/meta"))
        monitors = {int(l.split("=", 1)[1]) for m in metas for l in m.read_text().splitlines()
                    if l.startswith("monitor=")}
        assert spare in monitors, (spare, monitors)
        wait_for(lambda: spare_of(daemon) not in (None, spare), 10, what="a new spare")

        # a spare that is gone: the start falls back to spawning a monitor
        wait_zero(dd, app)
        os.kill(spare_of(daemon), signal.SIGKILL)
        r = get(dd, app)
        assert r.status_code == 200 and r.text.startswith("hello from testapp"), r.text
        wait_for(lambda: spare_of(daemon), 10, what="a spare again")

        last = spare_of(daemon)
        dd.kill9()
        wait_for(lambda: not alive(last), 10, what="the spare ends with its daemon")
    finally:
        if dd.proc.alive():
            dd.stop()
        dd.cleanup_exec()


def test_cold_start_without_the_monitor_program(procs, tmp_path):
    """Where jern-monitor is missing (JERN_MONITOR="" stands for that), the
    exec driver runs the monitor in a fork of the daemon instead: deploys,
    logs, cold starts and stops work the same."""
    dd = DeployDaemon(procs, tmp_path)
    dd.env_extra = {"JERN_MONITOR": ""}
    dd.start()
    try:
        app = name()
        deploy(dd, app)
        assert [p["driver"] for p in running(dd, app)] == ["exec"]
        scale(dd, app, "--min", "0", "--max", "1", "--idle", "500ms")
        wait_zero(dd, app)
        r = get(dd, app)
        assert r.status_code == 200 and r.text.startswith("hello from testapp"), r.text
        logs = dd.jern("logs", app)
        assert "listening on" in logs.stdout, logs.stdout + logs.stderr
        pid = running(dd, app)[0]["pid"]
        with open(f"/proc/{pid}/comm") as f:
            assert f.read().strip() == "jern-testapp"  # run directly, no sh between
    finally:
        dd.stop()
        dd.cleanup_exec()
