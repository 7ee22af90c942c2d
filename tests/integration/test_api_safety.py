"""The admin API against an operator's bad day: hostname takeover between
apps, a flood of idle TCP admin connections, control characters hidden in
JSON strings, deploys refused before they are accepted, failures that say
what happened, and exec instances kept away from the daemon's state. Each
test drives the real daemon (and the CLI where users would)."""
import os
import shutil
import socket
import tempfile
import time
import uuid

import pytest

from conftest import free_port
from deploykit import DeployDaemon, exec_cmd, open_dir
from jerndaemon import Admin, Daemon

TOKEN = "s3cret-token-for-the-flood-test"


@pytest.fixture
def daemon(procs, tmp_path):
    d = DeployDaemon(procs, tmp_path).start()
    yield d
    d.stop()
    d.cleanup_exec()


# ---- hostname takeover ----

def test_a_host_belongs_to_one_app(daemon):
    a = daemon.admin()
    assert a.post("/v1/apps", {"name": "shop"}).status == 201
    # another app's implicit name, at create and as an added domain
    r = a.post("/v1/apps", {"name": "evil", "domains": ["shop.localhost"]})
    assert r.status == 409 and "'shop'" in r.json()["error"], r
    assert a.get("/v1/apps/evil").status == 404  # nothing half-made
    assert a.post("/v1/apps", {"name": "evil"}).status == 201
    r = a.post("/v1/apps/evil/domains", {"domain": "SHOP.localhost."})
    assert r.status == 409 and "'shop'" in r.json()["error"], r
    # an explicit domain names its owner too
    assert a.post("/v1/apps/shop/domains", {"domain": "www.shop.test"}).status == 201
    r = a.post("/v1/apps/evil/domains", {"domain": "www.shop.test"})
    assert r.status == 409 and "'shop'" in r.json()["error"], r
    # an app whose own name another app already holds as a domain
    assert a.post("/v1/apps", {"name": "foo", "domains": ["bar.localhost"]}).status == 201
    r = a.post("/v1/apps", {"name": "bar"})
    assert r.status == 409 and "'foo'" in r.json()["error"] and "bar.localhost" in r.text, r
    # the CLI says the same, and a deploy cannot create such an app either
    r = daemon.cli("create", "bar")
    assert r.returncode == 1 and "domain of app 'foo'" in r.stderr, r
    r = daemon.cli("create", "evil2", "--domain", "shop.localhost")
    assert r.returncode == 1 and "host 'shop.localhost' already belongs to app 'shop'" in r.stderr, r
    assert a.post("/v1/apps/bar/deploy", {"command": "true"}).status == 409
    # an app may name its own host, and a freed domain can be taken
    assert a.post("/v1/apps/shop/domains", {"domain": "shop.localhost"}).status == 201
    r = a.post("/v1/apps", {"name": "shop"})
    assert r.status == 409 and "app 'shop' already exists" in r.text, r
    assert a.delete("/v1/apps/foo/domains/bar.localhost").status in (200, 204)
    assert a.post("/v1/apps", {"name": "bar"}).status == 201
    hosts = {x["name"]: x["hosts"] for x in a.get("/v1/apps").json()["apps"]}
    assert hosts["bar"] == ["bar.localhost"] and "shop.localhost" not in hosts["evil"]


# ---- control characters in JSON strings ----

@pytest.mark.parametrize("path,body,field", [
    ("/v1/apps", b'{"name":"ab\\u0000c"}', "name"),
    ("/v1/apps", b'{"name":"ok","domains":["evil.com\\u0000.shop.com"]}', "domains[0]"),
    ("/v1/apps", b'{"name":"ok","domains":["evil.com\x00.shop.com"]}', "domains[0]"),
    ("/v1/apps", b'{"name":"ok","domains":["a.test","b\\n.test"]}', "domains[1]"),
    ("/v1/apps", b'{"name":"ok\x1b"}', "name"),
    ("/v1/apps/web/deploy", b'{"command":"true\\u0000; rm -rf /"}', "command"),
    ("/v1/apps/web/deploy", b'{"image":"x\\r\\nHost: y"}', "image"),
    ("/v1/apps/web/deploy", b'{"command":"true","env":{"K\\u0001":"v"}}', "env.(a field name)"),
    ("/v1/apps/web/deploy", b'{"command":"true","env":{"K":"a\\u0000b"}}', "env.K"),
    ("/v1/apps/web/deploy", b'{"command":"true","workdir":"/tmp\\u007f"}', "workdir"),
    ("/v1/upstreams/web/servers", b'{"addr":"127.0.0.1:1\\u0000"}', "addr"),
])
def test_control_characters_in_strings_are_refused(daemon, path, body, field):
    a = daemon.admin()
    r = a.raw("POST", path, body, {"Content-Type": "application/json"})
    assert r.status == 400, r
    assert f"field '{field}' contains a control character" in r.json()["error"], r
    assert a.get("/v1/apps").json()["apps"] == []  # nothing was made


def test_malformed_escapes_and_stray_control_bytes_are_invalid_json(daemon):
    """cJSON alone would read \\u0il. as a NUL (cutting the domain to
    "evil.com") and skip control bytes between tokens."""
    a = daemon.admin()
    for body in (b'{"name":"ok","domains":["evil.com\\u0il.shop.com"]}',
                 b'{"name":"ok",\x00"domains":[]}'):
        r = a.raw("POST", "/v1/apps", body, {"Content-Type": "application/json"})
        assert r.status == 400 and "invalid JSON" in r.json()["error"], r
    assert a.get("/v1/apps").json()["apps"] == []


def test_env_values_may_hold_newlines(daemon):
    """Free text (an env value such as a PEM key) keeps its newlines; a
    \\\\u0000 written out (an escaped backslash) is text, not a NUL."""
    a = daemon.admin()
    body = b'{"command":"exit 0","env":{"KEY":"line1\\nline2","T":"a\\\\u0000b"}}'
    r = a.raw("POST", "/v1/apps/nl/deploy", body, {"Content-Type": "application/json"})
    assert r.status == 202, r
    r = a.raw("POST", "/v1/apps", b'{"name":"x\\\\u0000"}', {"Content-Type": "application/json"})
    assert r.status == 400 and "control character" not in r.text, r  # a bad name, said so


# ---- refused before accepted ----

@pytest.fixture
def shared():
    with open_dir() as d:
        yield d


def test_missing_workdir_and_command_are_refused_before_accepting(daemon, shared):
    tmp_path = shared
    a = daemon.admin()
    r = a.post("/v1/apps/web/deploy", {"command": "true", "workdir": str(tmp_path / "nope")})
    assert r.status == 400 and str(tmp_path / "nope") in r.json()["error"], r
    f = tmp_path / "file"
    f.write_text("")
    r = a.post("/v1/apps/web/deploy", {"command": "true", "workdir": str(f)})
    assert r.status == 400 and "not a directory" in r.json()["error"], r
    r = a.post("/v1/apps/web/deploy", {"command": str(tmp_path / "no-such-app") + " --port 1"})
    assert r.status == 400 and str(tmp_path / "no-such-app") in r.json()["error"], r
    r = a.post("/v1/apps/web/deploy", {"command": "./file", "workdir": str(tmp_path)})
    assert r.status == 400 and "not executable" in r.json()["error"], r
    # through the CLI (workdir is its own directory): a relative path that is not there
    r = daemon.jern("deploy", "web", "--cmd", "build/no-such-binary")
    assert r.returncode == 1 and "no-such-binary" in r.stderr and "No such file" in r.stderr, r
    assert a.get("/v1/apps/web/releases").status == 404  # no app, no release: refused early


@pytest.mark.skipif(os.geteuid() != 0, reason="apps run as jern-app only when jern is root")
def test_paths_the_app_user_cannot_reach_are_refused_before_accepting(daemon):
    private = tempfile.mkdtemp(prefix="jern-private-")  # mode 0700, owned by root
    try:
        os.mkdir(os.path.join(private, "app"), 0o755)
        a = daemon.admin()
        r = a.post("/v1/apps/web/deploy", {"command": "true",
                                           "workdir": os.path.join(private, "app")})
        assert r.status == 400, r
        assert f"jern-app that apps run as cannot enter {private} (mode 0700" in r.text, r
        tool = "/tmp/jern-private-tool-" + uuid.uuid4().hex[:8]
        with open(tool, "w") as f:
            f.write("#!/bin/sh\n")
        os.chmod(tool, 0o700)
        try:
            r = a.post("/v1/apps/web/deploy", {"command": tool, "workdir": "/tmp"})
            assert r.status == 400 and f"cannot read and execute {tool}" in r.text, r
            os.chmod(tool, 0o755)
            assert a.post("/v1/apps/web/deploy", {"command": tool, "workdir": "/tmp"}).status == 202
        finally:
            os.unlink(tool)
    finally:
        shutil.rmtree(private)


# ---- a failed deploy says what happened ----

def test_instance_exiting_before_healthy_ends_the_deploy_with_why(daemon):
    r = daemon.jern("deploy", "web", "--cmd", "echo boom-before-health >&2; exit 1",
                    "--health", "/health")
    assert r.returncode == 1, r
    out = r.stdout
    assert "interrupted" not in out and "daemon is stopping" not in out, out
    last = out.strip().splitlines()[-1]
    assert "failed after" in last and "exited with status 1 before it became healthy" in last, out
    assert "boom-before-health" in out, out


# ---- admin lock-out ----

def test_idle_tcp_admin_connections_do_not_lock_out_the_unix_socket(procs, tmp_path):
    port = free_port()
    d = Daemon(procs, tmp_path,
               config="jern { listen 127.0.0.1:{port}; admin 127.0.0.1:%d token=%s; }\n"
               % (port, TOKEN)).start()
    idle = []
    try:
        for _ in range(300):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            idle.append(s)
        time.sleep(0.3)  # let the daemon accept (and refuse) them all
        t = time.monotonic()
        r = d.admin().get("/v1/apps")
        assert r.status == 200 and time.monotonic() - t < 2, r
        r = d.cli("apps")
        assert r.returncode == 0, r
        # strangers that never send a token are cut off within seconds,
        # after which TCP serves again
        t = time.monotonic()
        idle[0].settimeout(10)
        assert idle[0].recv(1) == b""
        assert time.monotonic() - t < 5
        for s in idle:
            s.close()
        idle.clear()
        r = Admin(tcp=("127.0.0.1", port), token=TOKEN).get("/v1/apps")
        assert r.status == 200, r
    finally:
        for s in idle:
            s.close()
        d.stop()


def test_wrong_token_closes_the_connection(procs, tmp_path):
    port = free_port()
    d = Daemon(procs, tmp_path,
               config="jern { listen 127.0.0.1:{port}; admin 127.0.0.1:%d token=%s; }\n"
               % (port, TOKEN)).start()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        req = b"GET /v1/apps HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n\r\n"
        s.sendall(req + req)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        assert data.count(b"HTTP/1.1 401") == 1 and b"Connection: close" in data, data
        s.close()
    finally:
        d.stop()


# ---- exec apps do not run as root ----

def test_exec_app_runs_unprivileged_on_loopback(daemon):
    db = daemon.state / "jern.db"
    probe = ("echo uid=$(id -u) host=$HOST home=$HOME; "
             f"if cat '{db}' >/dev/null 2>&1; then echo db=readable; else echo db=denied; fi; "
             f"if test -w '{daemon.sock}'; then echo sock=writable; else echo sock=denied; fi; "
             f"exec {exec_cmd()}")
    r = daemon.jern("deploy", "priv", "--cmd", probe, "--health", "/health")
    assert r.returncode == 0, r.stdout + r.stderr
    logs = daemon.jern("logs", "priv").stdout
    assert "host=127.0.0.1" in logs, logs
    # the app listens on loopback only ($HOST), so the gateway still reaches it
    assert daemon.get("priv").status_code == 200
    if os.geteuid() != 0:
        assert f"uid={os.geteuid()}" in logs, logs  # not root: jern's own user
        return
    import pwd
    assert f"uid={pwd.getpwnam('jern-app').pw_uid} " in logs, logs
    assert "uid=0 " not in logs and "db=denied" in logs and "sock=denied" in logs, logs
