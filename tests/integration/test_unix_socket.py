"""deploy --listen-fds --socket unix: the socket jern binds and hands the app
(fd 3, LISTEN_FDS) is a unix socket in the state dir, and the gateway and the
health probe reach the instance there instead of over loopback TCP
(docs/RUNTIME.md). The real daemon, real exec instances, traffic through the
gateway; the saving itself is measured by bench/unix.sh."""
import os
import signal
import socket
import stat
import uuid
from pathlib import Path

from deploykit import exec_daemon  # noqa: F401 (the d fixture)
from deploykit import DeployDaemon, exec_cmd, start_load, stop_load, wait_for


def name():
    return f"ux{uuid.uuid4().hex[:6]}"


def deploy(d, app, *extra, env=("APP_VERSION=v1",)):
    args = ["deploy", app, "--cmd", exec_cmd(), "--health", "/health", "--listen-fds",
            "--socket", "unix"]
    for e in env:
        args += ["--env", e]
    r = d.jern(*args, *extra)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def sockets(d, app):
    ps = d.ps(app)
    assert all("socket" in p for p in ps), ps
    return [Path(p["socket"]) for p in ps]


def is_socket(p):
    try:
        return stat.S_ISSOCK(os.stat(p).st_mode)
    except FileNotFoundError:
        return False


def get_over(path, url="/"):
    """One GET straight to the instance's socket, as the gateway sends it."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(str(path))
    s.sendall(f"GET {url} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    out = b""
    while chunk := s.recv(65536):
        out += chunk
    s.close()
    return out.decode(errors="replace")


def test_instances_listen_on_unix_sockets_and_redeploy_without_errors(d, tmp_path):
    app = name()
    r = deploy(d, app, "--instances", "2")
    assert "on unix:" in r.stdout, r.stdout
    socks = sockets(d, app)
    assert len(socks) == 2 and all(is_socket(p) for p in socks), socks
    assert all(p.parent == d.state / "run" for p in socks), socks
    assert d.get(app).text.startswith("hello from testapp"), d.get(app).text
    # the app got the socket, not a port: it bound nothing, and has no $PORT
    answer = get_over(socks[0], "/env/PORT")
    assert answer.startswith("HTTP/1.1 404") and "env PORT is not set" in answer, answer
    logs = d.jern("logs", app).stdout
    assert "accepting on the inherited socket" in logs and "listening on" not in logs, logs
    ps = d.jern("ps", app).stdout
    assert " unix " in ps, ps
    # a redeploy under load: zero failed requests, and the old sockets go
    w = start_load(d, app, tmp=tmp_path)
    deploy(d, app, env=("APP_VERSION=v2",))
    n, out = stop_load(w)
    assert n > 100 and "Non-2xx" not in out and "Socket errors" not in out, out
    assert "v2" in d.get(app).text
    new = sockets(d, app)
    assert not set(new) & set(socks) and all(is_socket(p) for p in new)
    assert not any(p.exists() for p in socks), socks


def test_crashed_instance_comes_back_on_a_new_socket(d):
    app = name()
    deploy(d, app)
    [old] = sockets(d, app)
    [victim] = d.ps(app)
    os.kill(victim["pid"], signal.SIGKILL)
    wait_for(lambda: [p for p in d.ps(app) if p["restarts"] == 1 and p["state"] == "running"],
             20, what="the restart")
    [new] = sockets(d, app)
    assert new != old and is_socket(new) and not old.exists()
    assert d.get(app).status_code == 200


def test_daemon_killed_adopts_the_instance_on_its_socket(d):
    app = name()
    deploy(d, app)
    before = [(p["name"], p["pid"], p["socket"]) for p in d.ps(app)]
    d.kill9()
    assert get_over(before[0][2], "/health").startswith("HTTP/1.1 200")  # the app lives on
    d.start()
    assert [(p["name"], p["pid"], p["socket"]) for p in d.ps(app)] == before
    wait_for(lambda: d.get(app, timeout=2).status_code == 200, 10, what="routing after restart")


def test_scaled_to_zero_app_cold_starts_on_a_unix_socket(d):
    app = name()
    deploy(d, app)
    r = d.jern("scale", app, "--min", "0", "--max", "1", "--idle", "300ms")
    assert r.returncode == 0, r.stdout + r.stderr
    wait_for(lambda: not d.ps(app), 10, what="scaled to zero")
    assert not any((d.state / "run").glob(f"{app}-*.sock"))
    r = d.get(app)
    assert r.status_code == 200 and r.text.startswith("hello from testapp"), r.text
    assert all(is_socket(p) for p in sockets(d, app))


def test_bad_socket_requests_get_clear_errors(d):
    app = name()
    r = d.jern("deploy", app, "--cmd", exec_cmd(), "--socket", "unix")
    assert r.returncode != 0 and "needs --listen-fds" in r.stderr, r.stderr
    r = d.jern("deploy", app, "--cmd", exec_cmd(), "--listen-fds", "--socket", "udp")
    assert r.returncode != 0 and '"unix" or "tcp"' in r.stderr, r.stderr
    a = d.admin().post(f"/v1/apps/{app}/deploy", {"command": exec_cmd(), "listen_fds": True,
                                                   "socket": 5})
    assert a.status == 400 and '"unix" or "tcp"' in a.json()["error"], a.text
    assert d.admin().get(f"/v1/apps/{app}").status == 404  # nothing half-made


def test_socket_path_too_long_is_refused_with_the_fix(procs, tmp_path):
    """STATE/run/NAME.sock must fit a unix socket's 107 bytes: the admin
    socket fits, a long app name's instance socket does not."""
    dd = DeployDaemon(procs, tmp_path)
    dd.start()
    try:
        app = "long" * 6 + uuid.uuid4().hex
        assert len(str(dd.state / "run" / app)) > 107
        r = dd.jern("deploy", app, "--cmd", exec_cmd(), "--listen-fds", "--socket", "unix")
        assert r.returncode != 0, r.stdout
        out = r.stdout + r.stderr
        assert "a unix socket's path holds at most 107" in out and "shorter state" in out, out
        r = dd.jern("deploy", app, "--cmd", exec_cmd(), "--listen-fds")
        assert r.returncode == 0, r.stdout + r.stderr  # over TCP it runs
    finally:
        dd.stop()
        dd.cleanup_exec()
