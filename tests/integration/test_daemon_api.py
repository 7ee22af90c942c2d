"""jern serve: the admin API over its unix socket, state durability, metrics."""
import os
import re
import socket
import stat
import time

import pytest

from jerndaemon import Admin, Daemon


@pytest.fixture
def daemon(procs, tmp_path):
    return Daemon(procs, tmp_path).start()


def test_health_and_status(daemon):
    api = daemon.admin()
    r = api.get("/health")
    assert r.status == 200 and r.json() == {"status": "ok"}
    s = api.get("/v1/status").json()
    assert s["apps"] == 0
    assert s["base_domain"] == "localhost"
    assert s["listen"] == [f"127.0.0.1:{daemon.port}"]
    assert s["schema_version"] >= 1
    assert s["pid"] == daemon.proc.pid


def test_admin_socket_is_private(daemon):
    mode = stat.S_IMODE(os.stat(daemon.sock).st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(os.stat(daemon.state).st_mode) == 0o700


def test_app_round_trip(daemon):
    api = daemon.admin()
    r = api.post("/v1/apps", {"name": "shop", "domains": ["Shop.Example.com"]})
    assert r.status == 201, r
    app = r.json()
    assert app["name"] == "shop"
    assert app["domains"] == ["shop.example.com"]  # normalised
    assert app["hosts"] == ["shop.localhost", "shop.example.com"]

    assert api.get("/v1/apps/shop").json()["domains"] == ["shop.example.com"]
    assert [a["name"] for a in api.get("/v1/apps").json()["apps"]] == ["shop"]

    r = api.post("/v1/apps", {"name": "shop"})
    assert r.status == 409
    assert "already exists" in r.json()["error"]

    r = api.post("/v1/apps/shop/domains", {"domain": "www.shop.example.com"})
    assert r.status == 201
    assert r.json()["domains"] == ["shop.example.com", "www.shop.example.com"]
    r = api.post("/v1/apps", {"name": "other", "domains": ["www.shop.example.com"]})
    assert r.status == 409 and "already belongs" in r.json()["error"]
    # the failed create left nothing behind
    assert api.get("/v1/apps/other").status == 404

    assert api.delete("/v1/apps/shop/domains/shop.example.com").status == 200
    r = api.delete("/v1/apps/shop/domains/shop.example.com")
    assert r.status == 404 and "has no domain" in r.json()["error"]
    assert api.get("/v1/apps/shop/domains").json()["domains"] == ["www.shop.example.com"]

    assert api.delete("/v1/apps/shop").status == 200
    r = api.get("/v1/apps/shop")
    assert r.status == 404
    assert r.json()["error"] == "app 'shop' does not exist (create it with: jern create shop)"
    assert api.get("/v1/apps").json()["apps"] == []


def test_upstream_servers_round_trip(daemon):
    api = daemon.admin()
    assert api.post("/v1/apps", {"name": "api"}).status == 201
    r = api.post("/v1/upstreams/api/servers", {"addr": "127.0.0.1:9001", "weight": 3})
    assert r.status == 201, r
    assert r.json() == {"addr": "127.0.0.1:9001", "weight": 3, "state": "ready",
                        "origin": "api", "conns": 0, "requests": 0, "failures": 0,
                        "upstream": "api"}
    assert api.post("/v1/upstreams/api/servers", {"addr": "localhost:9002"}).status == 201
    r = api.post("/v1/upstreams/api/servers", {"addr": "127.0.0.1:9002"})
    assert r.status == 409  # localhost:9002 was stored as 127.0.0.1:9002

    r = api.patch("/v1/upstreams/api/servers/127.0.0.1:9002", {"state": "drain", "weight": 5})
    assert r.status == 200, r
    assert (r.json()["state"], r.json()["weight"]) == ("drain", 5)
    r = api.patch("/v1/upstreams/api/servers/127.0.0.1%3A9002", {"state": "maint"})
    assert r.json()["state"] == "maint"

    u = api.get("/v1/upstreams/api").json()
    assert u["kind"] == "app"
    assert u["balance"] == "p2c"  # apps balance on latency by default
    assert [(s["addr"], s["weight"], s["state"]) for s in u["servers"]] == [
        ("127.0.0.1:9001", 3, "ready"), ("127.0.0.1:9002", 5, "maint")]
    assert [x["name"] for x in api.get("/v1/upstreams").json()["upstreams"]] == ["api"]

    assert api.delete("/v1/upstreams/api/servers/127.0.0.1:9001").status == 200
    r = api.delete("/v1/upstreams/api/servers/127.0.0.1:9001")
    assert r.status == 404 and "has no server 127.0.0.1:9001" in r.json()["error"]
    r = api.post("/v1/upstreams/nope/servers", {"addr": "127.0.0.1:9001"})
    assert r.status == 404 and "upstream 'nope' does not exist" in r.json()["error"]


@pytest.mark.parametrize("path,body,msg", [
    ("/v1/apps", "{\"name\": ", "invalid JSON"),
    ("/v1/apps", "{\"name\": \"a\"} trailing", "unexpected data"),
    ("/v1/apps", "[1, 2]", "must be a JSON object"),
    ("/v1/apps", "", "body is required"),
    ("/v1/apps", "{\"name\": \"shop\", \"colour\": \"red\"}", "unknown field 'colour'"),
    ("/v1/apps", "{\"name\": 42}", "field 'name'"),
    ("/v1/apps", "{\"name\": \"Shop!\"}", "invalid app name 'Shop!'"),
    ("/v1/apps", "{\"name\": \"a\", \"domains\": \"x.com\"}", "array of strings"),
    ("/v1/apps", "{\"name\": \"a\", \"domains\": [\"*.x.com\"]}", "wildcards"),
    ("/v1/apps", "{\"name\": \"a\", \"domains\": [\"x.com:80\"]}", "no port"),
    ("/v1/upstreams/app1/servers", "{\"addr\": \"nope\"}", "invalid server address 'nope'"),
    ("/v1/upstreams/app1/servers", "{\"addr\": \"127.0.0.1:1\", \"weight\": 0}", "invalid weight 0"),
    ("/v1/upstreams/app1/servers", "{\"addr\": \"127.0.0.1:1\", \"weight\": 1.5}", "integer"),
    ("/v1/upstreams/app1/servers", "{\"addr\": \"127.0.0.1:1\", \"state\": \"up\"}", "ready, drain or maint"),
    ("/v1/upstreams/app1/servers", "{\"addr\": \"127.0.0.1:1\", \"port\": 1}", "unknown field 'port'"),
])
def test_bad_requests_get_400_with_a_reason(daemon, path, body, msg):
    api = daemon.admin()
    assert api.post("/v1/apps", {"name": "app1"}).status == 201
    r = api.raw("POST", path, body, {"Content-Type": "application/json"})
    assert r.status == 400, r
    assert msg in r.json()["error"], r
    # nothing was created by a rejected request
    assert [a["name"] for a in api.get("/v1/apps").json()["apps"]] == ["app1"]
    assert api.get("/v1/upstreams/app1").json()["servers"] == []


def test_patch_rejects_unknown_fields_and_empty_changes(daemon):
    api = daemon.admin()
    api.post("/v1/apps", {"name": "a"})
    api.post("/v1/upstreams/a/servers", {"addr": "127.0.0.1:9001"})
    r = api.patch("/v1/upstreams/a/servers/127.0.0.1:9001", {"addr": "127.0.0.1:9"})
    assert r.status == 400 and "unknown field 'addr'" in r.json()["error"]
    r = api.patch("/v1/upstreams/a/servers/127.0.0.1:9001", {})
    assert r.status == 400 and "nothing to change" in r.json()["error"]


def test_protocol_errors(daemon):
    api = daemon.admin()
    r = api.raw("PUT", "/v1/apps", "{}")
    assert r.status == 405 and r.headers.get("Allow") == "GET, POST"
    assert api.get("/v2/nothing").status == 404
    # a body over the 1 MiB cap is refused from its Content-Length, before it is sent
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(daemon.sock)
        s.sendall(b"POST /v1/apps HTTP/1.1\r\nHost: x\r\nContent-Length: 2097152\r\n\r\n")
        head = s.recv(4096)
        assert head.startswith(b"HTTP/1.1 413 "), head
    r = api.raw("GET", "/v1/apps?x=" + "a" * 20000)
    assert r.status in (414, 431)
    r = api.raw("POST", "/v1/apps", None, {"Transfer-Encoding": "chunked"})
    assert r.status == 411
    # the daemon is still fine
    assert api.get("/health").status == 200


def test_state_survives_restart_and_kill9(procs, tmp_path):
    d = Daemon(procs, tmp_path).start()
    api = d.admin()
    assert api.post("/v1/apps", {"name": "shop", "domains": ["shop.example.com"]}).status == 201
    assert api.post("/v1/upstreams/shop/servers", {"addr": "127.0.0.1:9001", "weight": 2}).status == 201
    assert api.patch("/v1/upstreams/shop/servers/127.0.0.1:9001", {"state": "drain"}).status == 200
    assert d.stop() == 0
    d.start()
    api = d.admin()
    assert api.get("/v1/apps/shop").json()["domains"] == ["shop.example.com"]
    # kill -9 right after an acknowledged write: the write must be there
    assert api.post("/v1/apps", {"name": "blog"}).status == 201
    assert api.post("/v1/upstreams/blog/servers", {"addr": "127.0.0.1:9002"}).status == 201
    d.kill9()
    d.start()  # a stale socket file is replaced
    api = d.admin()
    assert [a["name"] for a in api.get("/v1/apps").json()["apps"]] == ["blog", "shop"]
    s = api.get("/v1/upstreams/shop").json()["servers"]
    assert [(x["addr"], x["weight"], x["state"]) for x in s] == [("127.0.0.1:9001", 2, "drain")]
    assert api.get("/v1/upstreams/blog").json()["servers"][0]["addr"] == "127.0.0.1:9002"


def test_second_daemon_on_same_state_refuses(procs, tmp_path, daemon):
    other = Daemon(procs, tmp_path, name="second")
    other.start(wait=False)
    assert other.proc.wait(timeout=10) != 0
    assert f"in use by pid {daemon.proc.pid}" in other.proc.output()
    assert daemon.admin().get("/health").status == 200


PROM_LINE = re.compile(
    r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?P<labels>[^}]*)\})? (?P<value>\S+)$')
PROM_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def parse_prometheus(text):
    """A strict reader of the text exposition format: returns
    {(name, frozenset(labels)): value} and the declared types."""
    samples, types = {}, {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            assert typ in ("counter", "gauge", "histogram", "summary", "untyped"), line
            assert name not in types, f"type declared twice: {name}"
            types[name] = typ
            continue
        assert not line.startswith("#"), line
        m = PROM_LINE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = {}
        if m.group("labels"):
            rest = m.group("labels")
            pos = 0
            while pos < len(rest):
                lm = PROM_LABEL.match(rest, pos)
                assert lm, f"bad labels in {line!r}"
                labels[lm.group(1)] = lm.group(2)
                pos = lm.end()
        value = float(m.group("value"))
        base = re.sub(r"_(bucket|sum|count)$", "", m.group("name"))
        assert m.group("name") in types or base in types, f"sample before its TYPE: {line!r}"
        key = (m.group("name"), frozenset(labels.items()))
        assert key not in samples, f"duplicate sample {line!r}"
        samples[key] = value
    return samples, types


def test_metrics_parse_as_prometheus_text(daemon):
    api = daemon.admin()
    api.post("/v1/apps", {"name": "shop"})
    api.post("/v1/upstreams/shop/servers", {"addr": "127.0.0.1:9001", "weight": 4})
    api.patch("/v1/upstreams/shop/servers/127.0.0.1:9001", {"state": "drain"})
    r = api.get("/metrics")
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples, types = parse_prometheus(r.text)
    assert samples[("jern_up", frozenset())] == 1
    assert samples[("jern_apps", frozenset())] == 1
    srv = {("upstream", "shop"), ("server", "127.0.0.1:9001")}
    assert samples[("jern_upstream_server_weight", frozenset(srv))] == 4
    assert samples[("jern_upstream_server_state", frozenset(srv | {("state", "drain")}))] == 1
    assert samples[("jern_upstream_server_state", frozenset(srv | {("state", "ready")}))] == 0
    assert types["jern_upstream_server_requests_total"] == "counter"


def test_slow_partial_request_is_cut_off(daemon):
    """A client that sends part of a request and stalls is closed after the
    request deadline (10 s), while other clients are served meanwhile."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(20)
        s.connect(daemon.sock)
        t0 = time.time()
        s.sendall(b"GET /v1/apps HTTP/1.1\r\nHost: x\r\n")
        for _ in range(4):
            time.sleep(1)
            s.sendall(b"X-Trickle: 1\r\n")  # bytes keep coming, the deadline holds
            assert daemon.admin().get("/health").status == 200
        data = s.recv(4096)
        waited = time.time() - t0
        assert data == b""  # closed without an answer
        assert 8 <= waited <= 15, waited
