"""Gateway load balancing against real backends: weighted round robin, least_conn,
max_fails/fail_timeout with recovery, retries (GET yes, POST no), keep-alive pool."""
import threading
import time

import requests

from conftest import TESTAPP, free_port
from test_gateway import start_gateway


def app_of(r):
    return r.headers.get("X-App")


def test_weighted_round_robin_sequence(procs, tmp_path, testapp):
    a, b, c = testapp("a"), testapp("b"), testapp("c")
    _, port, _ = start_gateway(procs, tmp_path, f"""
        upstream w {{ server 127.0.0.1:{a} weight=5; server 127.0.0.1:{b}; server 127.0.0.1:{c}; }}
        server {{ listen 127.0.0.1:{{port}}; location / {{ proxy_pass http://w; }} }}""")
    with requests.Session() as s:
        seq = "".join(app_of(s.get(f"http://127.0.0.1:{port}/", timeout=5)) for _ in range(14))
    assert seq == "aabacaa" * 2


def test_least_conn_avoids_the_busy_backend(procs, tmp_path, testapp):
    a, b = testapp("a"), testapp("b")
    _, port, _ = start_gateway(procs, tmp_path, f"""
        upstream lc {{ least_conn; server 127.0.0.1:{a}; server 127.0.0.1:{b}; }}
        server {{ listen 127.0.0.1:{{port}}; location / {{ proxy_pass http://lc; }} }}""", workers=2)
    slow = {}

    def slow_req():
        slow["r"] = requests.get(f"http://127.0.0.1:{port}/slow?ms=1500", timeout=10)

    t = threading.Thread(target=slow_req)
    t.start()
    time.sleep(0.3)
    during = [app_of(requests.get(f"http://127.0.0.1:{port}/", timeout=5)) for _ in range(6)]
    t.join()
    busy = app_of(slow["r"])
    assert busy in ("a", "b")
    assert all(x != busy for x in during), (busy, during)
    after = {app_of(requests.get(f"http://127.0.0.1:{port}/", timeout=5)) for _ in range(4)}
    assert after == {"a", "b"}


def read_log(path, n, timeout=5.0):
    deadline = time.time() + timeout
    lines = []
    while time.time() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= n:
            return lines
        time.sleep(0.1)
    return lines


def test_max_fails_retry_and_recovery(procs, tmp_path, testapp):
    a = testapp("a")
    dead = free_port()
    log = tmp_path / "access.log"
    _, port, _ = start_gateway(procs, tmp_path, f"""
        log_format up '$status $upstream_addr $upstream_status';
        upstream m {{ server 127.0.0.1:{dead} max_fails=1 fail_timeout=2s; server 127.0.0.1:{a}; }}
        server {{ listen 127.0.0.1:{{port}}; access_log {log} up;
                  location / {{ proxy_pass http://m; }} }}""")
    codes = [requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code for _ in range(6)]
    assert codes == [200] * 6  # the dead one is retried on the live one: no client error
    lines = read_log(log, 6)
    assert lines[0] == f"200 127.0.0.1:{dead}, 127.0.0.1:{a} 502, 200", lines
    # marked failed for fail_timeout: not tried again
    assert all(ln == f"200 127.0.0.1:{a} 200" for ln in lines[1:6]), lines
    testapp("d", port=dead)
    time.sleep(2.2)  # the window passes: one probe, then back in rotation
    seen = [app_of(requests.get(f"http://127.0.0.1:{port}/", timeout=5)) for _ in range(6)]
    assert "d" in seen and "a" in seen, seen


def test_retry_get_but_not_post(procs, tmp_path, testapp):
    a = testapp("a")
    dead = free_port()
    _, port, _ = start_gateway(procs, tmp_path, f"""
        upstream r {{ server 127.0.0.1:{dead} max_fails=0; server 127.0.0.1:{a} max_fails=0; }}
        server {{ listen 127.0.0.1:{{port}}; location / {{ proxy_pass http://r; }} }}""")
    gets = [requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code for _ in range(10)]
    assert gets == [200] * 10
    posts = [requests.post(f"http://127.0.0.1:{port}/sink", data=b"abc", timeout=5).status_code
             for _ in range(4)]
    # round robin alternates: every POST that lands on the dead server fails, none is retried
    assert sorted(posts) == [200, 200, 502, 502], posts


def test_upstream_keepalive_reuses_connections(procs, tmp_path, testapp):
    a = testapp("a")
    b = testapp("b")
    _, port, _ = start_gateway(procs, tmp_path, f"""
        upstream pooled {{ server 127.0.0.1:{a}; keepalive 4; }}
        upstream plain {{ server 127.0.0.1:{b}; }}
        server {{ listen 127.0.0.1:{{port}};
                  location /p/ {{ proxy_pass http://pooled/; }}
                  location /n/ {{ proxy_pass http://plain/; }} }}""")
    with requests.Session() as s:
        for _ in range(30):
            assert s.get(f"http://127.0.0.1:{port}/p/", timeout=5).status_code == 200
            assert s.get(f"http://127.0.0.1:{port}/n/", timeout=5).status_code == 200
        pooled = s.get(f"http://127.0.0.1:{port}/p/conn", timeout=5).text.split()
        plain = s.get(f"http://127.0.0.1:{port}/n/conn", timeout=5).text.split()
        head = s.get(f"http://127.0.0.1:{port}/p/headers", timeout=5).text
    assert int(pooled[1]) <= 2, pooled  # one connection, reused
    assert int(plain[1]) >= 31, plain  # Connection: close each time, as nginx without keepalive
    assert "connection: close" not in head.lower()


def test_unix_socket_upstream_with_keepalive(procs, tmp_path):
    """`server unix:PATH` (nginx's syntax): requests reach a backend on a unix
    socket, over one pooled connection; a vanished socket is a 502, and the
    next request after it comes back is answered."""
    sock = tmp_path / "app.sock"
    app = procs.start([TESTAPP, f"unix:{sock}"], name="testapp-unix", env={"APP_NAME": "u"})
    deadline = time.time() + 10
    while not sock.exists() and time.time() < deadline:
        time.sleep(0.02)
    _, port, _ = start_gateway(procs, tmp_path, f"""
        upstream ux {{ server unix:{sock}; keepalive 4; }}
        server {{ listen 127.0.0.1:{{port}}; location / {{ proxy_pass http://ux; }} }}""")
    url = f"http://127.0.0.1:{port}/"
    with requests.Session() as s:
        for _ in range(30):
            r = s.get(url, timeout=5)
            assert r.status_code == 200 and app_of(r) == "u", r.text
        conns = s.get(url + "conn", timeout=5).text.split()
    assert int(conns[1]) <= 2, conns  # one connection, reused
    app.stop()
    sock.unlink(missing_ok=True)
    assert requests.get(url, timeout=5).status_code == 502
    procs.start([TESTAPP, f"unix:{sock}"], name="testapp-unix2", env={"APP_NAME": "u"})
    deadline = time.time() + 10
    while time.time() < deadline:
        if requests.get(url, timeout=5).status_code == 200:
            break
        time.sleep(0.1)
    assert requests.get(url, timeout=5).status_code == 200
