"""jern serve end to end: apps answer through the gateway, live upstream
changes under load, drain, TCP admin with a token, reload and restart."""
import re
import subprocess
import threading
import time

import pytest
import requests

from conftest import free_port, have
from jerndaemon import Admin, Daemon

TOKEN = "s3cret-token-0123456789"


def get(d, host, path="/", timeout=10):
    return requests.get(d.url(path), headers={"Host": host}, timeout=timeout)


def test_apps_answer_at_their_hosts(procs, tmp_path, testapp):
    a = testapp("one")
    d = Daemon(procs, tmp_path).start()
    api = d.admin()
    assert api.post("/v1/apps", {"name": "shop", "domains": ["shop.example.com"]}).status == 201
    # no server yet: the gateway answers, never hangs
    assert get(d, "shop.localhost").status_code in (502, 503)
    assert api.post("/v1/upstreams/shop/servers", {"addr": f"127.0.0.1:{a}"}).status == 201
    r = get(d, "shop.localhost")
    assert r.status_code == 200 and r.text == "hello from one\n"
    assert get(d, "SHOP.example.com:80").text == "hello from one\n"
    r = get(d, "nobody.localhost")
    assert r.status_code == 404 and "no app answers at this host" in r.text

    assert api.delete("/v1/apps/shop/domains/shop.example.com").status == 200
    assert get(d, "shop.example.com").status_code == 404
    assert get(d, "shop.localhost").status_code == 200
    assert api.delete("/v1/apps/shop").status == 200
    assert get(d, "shop.localhost").status_code == 404


def test_tcp_admin_requires_a_bearer_token(procs, tmp_path):
    port = free_port()
    conf = "jern { listen 127.0.0.1:{port}; admin 127.0.0.1:%d token=%s; }\n" % (port, TOKEN)
    d = Daemon(procs, tmp_path, config=conf).start()
    anon = Admin(tcp=("127.0.0.1", port))
    for path in ("/v1/apps", "/health", "/metrics"):
        r = anon.get(path)
        assert r.status == 401, (path, r)
        assert r.headers.get("WWW-Authenticate", "").startswith("Bearer")
        assert "bearer token" in r.json()["error"]
    r = anon.raw("GET", "/v1/apps", headers={"Authorization": "Bearer wrong-token-000000000"})
    assert r.status == 401
    r = anon.raw("GET", "/v1/apps", headers={"Authorization": "Bearer " + TOKEN + "x"})
    assert r.status == 401
    authed = Admin(tcp=("127.0.0.1", port), token=TOKEN)
    assert authed.post("/v1/apps", {"name": "viatcp"}).status == 201
    # the unix socket stays available and needs no token
    assert [a["name"] for a in d.admin().get("/v1/apps").json()["apps"]] == ["viatcp"]
    # the CLI over TCP
    r = d.cli("apps", "--admin", f"127.0.0.1:{port}", "--token", TOKEN)
    assert r.returncode == 0 and "viatcp" in r.stdout
    r = d.cli("apps", "--admin", f"http://127.0.0.1:{port}")
    assert r.returncode == 1 and "bearer token" in r.stderr


def test_tcp_admin_without_token_refuses_to_start(procs, tmp_path):
    conf = "jern { listen 127.0.0.1:{port}; admin 127.0.0.1:%d; }\n" % free_port()
    d = Daemon(procs, tmp_path, config=conf)
    d.start(wait=False)
    assert d.proc.wait(timeout=10) != 0
    out = d.proc.output()
    assert "needs token=SECRET" in out and "jern.conf:1" in out


def test_config_errors_name_file_and_line(procs, tmp_path):
    d = Daemon(procs, tmp_path, config="jern {\n  listen 127.0.0.1:{port};\n  stat_dir x;\n}\n")
    d.start(wait=False)
    assert d.proc.wait(timeout=10) != 0
    assert 'jern.conf:3: unknown directive "stat_dir" in the jern block' in d.proc.output()
    d2 = Daemon(procs, tmp_path, name="j2", config="jern { listen 127.0.0.1:{port}; }\nhttp {\n  bogus on;\n}\n")
    d2.start(wait=False)
    assert d2.proc.wait(timeout=10) != 0
    assert "j2.conf:3" in d2.proc.output()


STATIC = """
jern { state_dir %s; }
http {
    upstream back {
        server 127.0.0.1:%d;
    }
    server {
        listen 127.0.0.1:{port};
        server_name static.test;
        location / { proxy_pass http://back; }
    }
}
"""


def test_static_upstream_changes_survive_reload_and_restart(procs, tmp_path, testapp):
    a, b = testapp("a"), testapp("b")
    conf = STATIC % (tmp_path / "state", a)
    d = Daemon(procs, tmp_path, config=conf).start()
    api = d.admin()
    assert get(d, "static.test").text == "hello from a\n"
    u = api.get("/v1/upstreams/back").json()
    assert u["kind"] == "config"
    assert u["balance"] == "round_robin"  # static upstreams keep nginx's default
    assert [(s["addr"], s["origin"]) for s in u["servers"]] == [(f"127.0.0.1:{a}", "config")]

    assert api.post("/v1/upstreams/back/servers", {"addr": f"127.0.0.1:{b}"}).status == 201
    assert api.patch(f"/v1/upstreams/back/servers/127.0.0.1:{a}", {"state": "maint"}).status == 200
    assert {get(d, "static.test").text for _ in range(6)} == {"hello from b\n"}
    # apps answer on the http block's addresses for hosts no server_name claims
    assert api.post("/v1/apps", {"name": "shop"}).status == 201
    assert api.post("/v1/upstreams/shop/servers", {"addr": f"127.0.0.1:{a}"}).status == 201
    assert get(d, "shop.localhost").text == "hello from a\n"

    # HUP re-reads the file: the live changes stay
    d.proc.send(__import__("signal").SIGHUP)
    deadline = time.time() + 5
    while api.get("/v1/status").json()["reloads"] < 1 and time.time() < deadline:
        time.sleep(0.05)
    assert api.get("/v1/status").json()["reloads"] == 1
    assert {get(d, "static.test").text for _ in range(6)} == {"hello from b\n"}
    assert get(d, "shop.localhost").text == "hello from a\n"

    # and so does a restart
    d.stop()
    d.start()
    api = d.admin()
    assert {get(d, "static.test").text for _ in range(6)} == {"hello from b\n"}
    assert get(d, "shop.localhost").text == "hello from a\n"
    # a broken file on HUP changes nothing
    (tmp_path / "jern.conf").write_text(conf.replace("{port}", str(d.port)) + "\nbogus;\n")
    d.proc.send(__import__("signal").SIGHUP)
    time.sleep(0.5)
    assert d.proc.alive() and api.get("/v1/status").json()["reloads"] == 0
    assert "reload failed, keeping the running config" in d.proc.output()
    assert {get(d, "static.test").text for _ in range(4)} == {"hello from b\n"}
    assert api.delete(f"/v1/upstreams/back/servers/127.0.0.1:{a}").status == 200
    assert [s["addr"] for s in api.get("/v1/upstreams/back").json()["servers"]] == [f"127.0.0.1:{b}"]
    r = api.post("/v1/apps", {"name": "back"})
    assert r.status == 409 and "upstream block" in r.json()["error"]


def test_drain_and_remove_let_slow_requests_finish(procs, tmp_path, testapp):
    a, b = testapp("a"), testapp("b")
    d = Daemon(procs, tmp_path).start()
    api = d.admin()
    api.post("/v1/apps", {"name": "shop"})
    api.post("/v1/upstreams/shop/servers", {"addr": f"127.0.0.1:{a}"})
    results = {}

    def slow(key):
        r = get(d, "shop.localhost", "/slow?ms=1500", timeout=20)
        results[key] = (r.status_code, r.text, r.headers.get("X-App"))

    t1 = threading.Thread(target=slow, args=("drain",))
    t1.start()
    time.sleep(0.4)  # the request is in flight on a
    assert api.post("/v1/upstreams/shop/servers", {"addr": f"127.0.0.1:{b}"}).status == 201
    r = api.patch(f"/v1/upstreams/shop/servers/127.0.0.1:{a}", {"state": "drain"})
    assert r.status == 200 and r.json()["conns"] == 1  # the live count sees it
    # new requests go to b only while a drains
    assert {get(d, "shop.localhost").text for _ in range(5)} == {"hello from b\n"}
    t1.join(15)
    assert results["drain"] == (200, "slept 1500 ms\n", "a")

    # removal: same guarantee
    api.patch(f"/v1/upstreams/shop/servers/127.0.0.1:{a}", {"state": "ready"})
    api.patch(f"/v1/upstreams/shop/servers/127.0.0.1:{b}", {"state": "maint"})
    t2 = threading.Thread(target=slow, args=("remove",))
    t2.start()
    time.sleep(0.4)
    api.patch(f"/v1/upstreams/shop/servers/127.0.0.1:{b}", {"state": "ready"})
    assert api.delete(f"/v1/upstreams/shop/servers/127.0.0.1:{a}").status == 200
    assert {get(d, "shop.localhost").text for _ in range(5)} == {"hello from b\n"}
    t2.join(15)
    assert results["remove"] == (200, "slept 1500 ms\n", "a")


@pytest.mark.skipif(not have("wrk"), reason="wrk not installed")
def test_add_remove_servers_under_load_fails_nothing(procs, tmp_path, testapp):
    ports = [testapp(f"s{i}") for i in range(3)]
    d = Daemon(procs, tmp_path).start()
    api = d.admin()
    api.post("/v1/apps", {"name": "load"})
    api.post("/v1/upstreams/load/servers", {"addr": f"127.0.0.1:{ports[0]}"})
    wrk = subprocess.Popen(["wrk", "-t1", "-c16", "-d4s", "-H", "Host: load.localhost",
                            d.url("/")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
    changes = 0
    deadline = time.time() + 3.5
    present = {ports[0]}
    i = 0
    while time.time() < deadline:
        nxt = ports[(i + 1) % 3]
        cur = ports[i % 3]
        assert api.post("/v1/upstreams/load/servers", {"addr": f"127.0.0.1:{nxt}"}).status == 201
        present.add(nxt)
        time.sleep(0.05)
        assert api.delete(f"/v1/upstreams/load/servers/127.0.0.1:{cur}").status == 200
        present.discard(cur)
        changes += 2
        i += 1
        time.sleep(0.05)
    out, _ = wrk.communicate(timeout=30)
    print(out, changes)
    m = re.search(r"(\d+) requests in", out)
    assert m and int(m.group(1)) > 500, out
    assert "Non-2xx" not in out, out
    assert "Socket errors" not in out, out
    assert changes >= 20
    # every server that served was counted; the ones present now are listed
    listed = {s["addr"] for s in api.get("/v1/upstreams/load").json()["servers"]}
    assert listed == {f"127.0.0.1:{p}" for p in present}


def test_metrics_count_live_requests(procs, tmp_path, testapp):
    from test_daemon_api import parse_prometheus
    a = testapp("m")
    d = Daemon(procs, tmp_path).start()
    api = d.admin()
    api.post("/v1/apps", {"name": "met"})
    api.post("/v1/upstreams/met/servers", {"addr": f"127.0.0.1:{a}"})
    for _ in range(7):
        assert get(d, "met.localhost").status_code == 200
    samples, _ = parse_prometheus(api.get("/metrics").text)
    key = ("jern_upstream_server_requests_total",
           frozenset({("upstream", "met"), ("server", f"127.0.0.1:{a}")}))
    assert samples[key] == 7
    s = api.get("/v1/upstreams/met").json()["servers"][0]
    assert s["requests"] == 7 and s["conns"] == 0 and s["failures"] == 0


def port_busy(port):
    import socket
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.skipif(port_busy(8080), reason="127.0.0.1:8080 is in use on this machine")
def test_embedded_defaults(procs, tmp_path, testapp):
    """No -c: apps on 127.0.0.1:8080, state in ./jern-state, admin socket in it."""
    from conftest import JERN
    a = testapp("dflt")
    p = procs.start([JERN, "serve"], name="dflt", cwd=str(tmp_path),
                    env={"JERN_STATE": "", "JERN_ADMIN": ""})
    sock = tmp_path / "jern-state" / "admin.sock"
    deadline = time.time() + 10
    while not sock.exists() and time.time() < deadline and p.alive():
        time.sleep(0.05)
    api = Admin(sock=str(sock))
    assert api.get("/v1/status").json()["listen"] == ["127.0.0.1:8080"]
    r = subprocess.run([JERN, "create", "dflt"], cwd=str(tmp_path), capture_output=True,
                       text=True, timeout=10, env={"PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    api.post("/v1/upstreams/dflt/servers", {"addr": f"127.0.0.1:{a}"})
    r = requests.get("http://127.0.0.1:8080/", headers={"Host": "dflt.localhost"}, timeout=10)
    assert r.text == "hello from dflt\n"
    assert (tmp_path / "jern-state" / "jern.db").exists()


def test_a_change_reaches_the_gateway_within_10ms(procs, tmp_path, testapp):
    """The admin API answers after the new snapshot was posted to every worker:
    the first request that sees the change was sent within 10 ms of the answer,
    and no request after it reaches the old state (a worker may still route a
    request that arrives in the same loop iteration as the post)."""
    a, b = testapp("a"), testapp("b")
    d = Daemon(procs, tmp_path).start()
    api = d.admin()
    assert api.post("/v1/apps", {"name": "fast"}).status == 201
    assert api.post("/v1/upstreams/fast/servers", {"addr": f"127.0.0.1:{a}"}).status == 201
    assert api.post("/v1/upstreams/fast/servers", {"addr": f"127.0.0.1:{b}"}).status == 201
    session = requests.Session()
    worst = 0.0
    for round_ in range(5):
        gone, stays = (a, b) if round_ % 2 == 0 else (b, a)
        name = "b" if stays == b else "a"
        assert api.patch(f"/v1/upstreams/fast/servers/127.0.0.1:{stays}",
                         {"state": "ready"}).status == 200
        r = api.patch(f"/v1/upstreams/fast/servers/127.0.0.1:{gone}", {"state": "maint"})
        t0 = time.monotonic()
        assert r.status == 200
        # the first request sent after the answer, and every one after it,
        # must reach the server left ready
        first_ok = None
        for _ in range(20):
            sent = time.monotonic()
            resp = session.get(d.url("/"), headers={"Host": "fast.localhost"}, timeout=5)
            assert resp.status_code == 200
            if resp.text == f"hello from {name}\n":
                first_ok = first_ok if first_ok is not None else sent - t0
            else:
                assert first_ok is None, "a request went to the server in maint after the switch"
        assert first_ok is not None
        worst = max(worst, first_ok)
    assert worst < 0.010, f"a change took {worst * 1000:.1f} ms to reach the gateway"
