"""drain_timeout (jern block): a request still in flight on a server that was
drained or removed is ended drain_timeout later, so a deploy can finish: 502
when nothing was sent yet, a visible truncation otherwise. Without the
timeout such requests would hold the old server for as long as they like."""
import socket
import threading
import time

from jerndaemon import Daemon
from rawbackend import RawBackend


def stall(conn, data):
    time.sleep(8)


def stall_mid_body(conn, data):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"p" * 100)
    time.sleep(8)


def request(port, host, out):
    t0 = time.time()
    s = socket.create_connection(("127.0.0.1", port), timeout=15)
    s.sendall(b"GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % host.encode())
    data = b""
    while True:
        try:
            c = s.recv(65536)
        except OSError:
            break
        if not c:
            break
        data += c
    s.close()
    out["data"], out["end"] = data, time.time()
    out["took"] = out["end"] - t0


def test_drain_timeout_ends_requests_left_on_retired_servers(procs, tmp_path):
    conf = "jern { listen 127.0.0.1:{port}; drain_timeout 1s; }\n"
    d = Daemon(procs, tmp_path, config=conf).start()
    api = d.admin()
    silent, half = RawBackend(stall), RawBackend(stall_mid_body)
    for app, be in (("gone", silent), ("dry", half)):
        api.post("/v1/apps", {"name": app})
        assert api.post(f"/v1/upstreams/{app}/servers",
                        {"addr": f"127.0.0.1:{be.port}"}).status == 201
    res1, res2 = {}, {}
    t1 = threading.Thread(target=request, args=(d.port, "gone.localhost", res1))
    t2 = threading.Thread(target=request, args=(d.port, "dry.localhost", res2))
    t1.start()
    t2.start()
    assert silent.got.wait(5) and half.got.wait(5)
    time.sleep(0.3)  # the request is in flight on the server: nothing ends it yet
    assert t1.is_alive() and t2.is_alive()
    t_removed = time.time()
    assert api.delete(f"/v1/upstreams/gone/servers/127.0.0.1:{silent.port}").status == 200
    t_drained = time.time()
    assert api.patch(f"/v1/upstreams/dry/servers/127.0.0.1:{half.port}",
                     {"state": "drain"}).status == 200
    t1.join(10)
    t2.join(10)
    # nothing sent yet: a 502 with a reason, about drain_timeout after the removal
    assert res1["data"].startswith(b"HTTP/1.1 502 "), res1["data"]
    assert b"drained" in res1["data"]
    assert 0.8 < res1["end"] - t_removed < 3.0, res1["end"] - t_removed
    # mid-body: the client keeps what it got and sees the connection close early
    head, _, body = res2["data"].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and body == b"p" * 100, res2["data"][:200]
    assert 0.8 < res2["end"] - t_drained < 3.0, res2["end"] - t_drained
    silent.close()
    half.close()


def test_drain_timeout_is_validated(procs, tmp_path):
    from conftest import JERN
    import subprocess
    cfg = tmp_path / "bad.conf"
    cfg.write_text("jern { listen 127.0.0.1:1; drain_timeout soon; }\n")
    r = subprocess.run([JERN, "serve", "-c", str(cfg)], capture_output=True, text=True,
                       timeout=10, env={"JERN_STATE": str(tmp_path / "st"), "PATH": "/usr/bin:/bin"})
    assert r.returncode != 0
    assert 'invalid drain_timeout "soon"' in r.stderr, r.stderr
