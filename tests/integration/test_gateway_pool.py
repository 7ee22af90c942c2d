"""Upstream keep-alive pool against live upstream changes: idle connections to
a server that is drained, in maint or removed are closed as soon as the new
snapshot arrives, and never handed out again."""
import time

import requests

from jerndaemon import Daemon
from rawbackend import KeepAliveBackend


def wait_for(pred, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def test_idle_pooled_connections_closed_on_drain_maint_remove(procs, tmp_path):
    bes = {n: KeepAliveBackend(n) for n in ("a", "b", "c", "d")}
    d = Daemon(procs, tmp_path).start()
    api = d.admin()
    api.post("/v1/apps", {"name": "pool"})
    for be in bes.values():
        assert api.post("/v1/upstreams/pool/servers",
                        {"addr": f"127.0.0.1:{be.port}"}).status == 201
    seen = set()
    for _ in range(12):  # round robin: every server gets requests, pools fill
        r = requests.get(d.url("/"), headers={"Host": "pool.localhost"}, timeout=5)
        assert r.status_code == 200
        seen.add(r.text.split()[-1])
    assert seen == {"a", "b", "c", "d"}
    assert all(wait_for(lambda be=be: be.open >= 1) for be in bes.values())
    assert all(be.closed_by_peer == 0 for be in bes.values())

    def addr(n):
        return f"/v1/upstreams/pool/servers/127.0.0.1:{bes[n].port}"

    assert api.patch(addr("a"), {"state": "drain"}).status == 200
    assert wait_for(lambda: bes["a"].open == 0, 2), "drained server's idle connection kept"
    assert api.patch(addr("b"), {"state": "maint"}).status == 200
    assert wait_for(lambda: bes["b"].open == 0, 2), "maint server's idle connection kept"
    assert api.delete(addr("c")).status == 200
    assert wait_for(lambda: bes["c"].open == 0, 2), "removed server's idle connection kept"
    assert bes["d"].open >= 1  # the server still in service keeps its pool

    # Traffic goes to d only, on its pooled connection; none revives a, b or c.
    before = {n: be.requests for n, be in bes.items()}
    for _ in range(6):
        r = requests.get(d.url("/"), headers={"Host": "pool.localhost"}, timeout=5)
        assert r.text == "ok from d\n"
    assert all(bes[n].requests == before[n] for n in "abc")
    assert bes["d"].requests == before["d"] + 6
    for be in bes.values():
        be.close()


def test_keepalive_bounds_the_upstream_not_each_server(procs, tmp_path):
    """keepalive N as nginx means it: N idle connections per worker for the
    whole upstream, across its servers. At a concurrency above N the surplus
    connections are closed when their exchange ends (and new ones opened
    later), and what stays pooled is N in total, not N per server."""
    from concurrent.futures import ThreadPoolExecutor

    from test_gateway import start_gateway

    a, b = KeepAliveBackend("a"), KeepAliveBackend("b")
    _, port, _ = start_gateway(procs, tmp_path, f"""
        upstream k {{ server 127.0.0.1:{a.port}; server 127.0.0.1:{b.port}; keepalive 2; }}
        server {{ listen 127.0.0.1:{{port}}; location / {{ proxy_pass http://k; }} }}""")

    def client(_):
        with requests.Session() as s:
            for _ in range(10):
                assert s.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200

    with ThreadPoolExecutor(8) as ex:  # 8 at once > keepalive 2
        list(ex.map(client, range(8)))
    assert a.requests + b.requests == 80
    assert a.accepts + b.accepts > 2  # the surplus was not kept
    assert wait_for(lambda: a.open + b.open == 2, 3), (a.open, b.open)
    time.sleep(0.3)
    assert a.open + b.open == 2, (a.open, b.open)  # not 2 per server

    # At a concurrency within the bound, the pool serves every request: at
    # most the one connection that moves the pool onto the other server.
    before = a.accepts + b.accepts
    with requests.Session() as s:
        for _ in range(10):
            assert s.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
    assert a.accepts + b.accepts - before <= 2
    a.close()
    b.close()
