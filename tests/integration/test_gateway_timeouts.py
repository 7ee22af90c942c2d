"""Gateway timeouts and error statuses: a total head deadline that a slow drip cannot
extend, client body timeout, keep-alive idle timeout, connect timeout (504),
upstream dying mid-body, proxy_next_upstream http_503."""
import socket
import time

import requests

from test_gateway import raw, start_gateway, simple_proxy


def closed_after(s, limit):
    """Seconds until the peer closes s (reading and discarding), or None."""
    t0 = time.time()
    s.settimeout(0.2)
    data = b""
    while time.time() - t0 < limit:
        try:
            c = s.recv(4096)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return time.time() - t0, data
        if not c:
            return time.time() - t0, data
        data += c
    return None, data


def test_header_deadline_is_total_not_per_byte(procs, tmp_path, testapp):
    a = testapp("a")
    _, port, _ = simple_proxy(procs, tmp_path, [a], server_extra="client_header_timeout 1s;")
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    t0 = time.time()
    s.sendall(b"GET / HTTP/1.1\r\n")
    closed = None
    for _ in range(15):  # one byte every 200 ms: would last 3 s
        time.sleep(0.2)
        try:
            s.sendall(b"X")
        except OSError:
            closed = time.time() - t0
            break
    if closed is None:
        took, _ = closed_after(s, 3)
        closed = took and time.time() - t0
    assert closed is not None and closed < 2.0, closed
    s.close()


def test_client_body_timeout_is_408(procs, tmp_path, testapp):
    a = testapp("a")
    _, port, _ = simple_proxy(procs, tmp_path, [a], server_extra="client_body_timeout 500ms;")
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
    took, data = closed_after(s, 4)
    assert took is not None and took < 2.5
    assert data.startswith(b"HTTP/1.1 408 "), data


def test_keepalive_timeout_closes_idle_connections(procs, tmp_path, testapp):
    a = testapp("a")
    _, port, _ = simple_proxy(procs, tmp_path, [a], server_extra="keepalive_timeout 500ms;")
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    s.settimeout(5)
    first = s.recv(4096)
    assert first.startswith(b"HTTP/1.1 200")
    took, _ = closed_after(s, 4)
    assert took is not None and 0.3 < took < 2.0, took


def test_connect_timeout_is_504(procs, tmp_path):
    # A listener that never accepts, its queue full: SYNs go unanswered.
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(0)
    port_b = lst.getsockname()[1]
    fillers = []
    for _ in range(4):
        f = socket.socket()
        f.setblocking(False)
        try:
            f.connect(("127.0.0.1", port_b))
        except BlockingIOError:
            pass
        fillers.append(f)
    time.sleep(0.2)
    try:
        _, port, _ = start_gateway(procs, tmp_path, f"""
            server {{ listen 127.0.0.1:{{port}};
              location / {{ proxy_pass http://127.0.0.1:{port_b}; proxy_connect_timeout 300ms; }} }}""")
        t0 = time.time()
        r = requests.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert r.status_code == 504
        assert time.time() - t0 < 2
    finally:
        for f in fillers:
            f.close()
        lst.close()


def test_upstream_dying_mid_body_truncates(procs, tmp_path):
    """A Python backend that promises 100000 bytes and dies after 1000."""
    import threading
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(8)
    port_b = lst.getsockname()[1]

    def serve():
        for _ in range(2):
            try:
                c, _ = lst.accept()
            except OSError:
                return
            c.recv(65536)
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
            c.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    _, port, _ = start_gateway(procs, tmp_path, f"""
        server {{ listen 127.0.0.1:{{port}}; location / {{ proxy_pass http://127.0.0.1:{port_b}; }} }}""")
    out = raw(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 ")
    body = out.split(b"\r\n\r\n", 1)[1]
    assert len(body) == 1000  # the client sees the truncation as the close
    lst.close()


def test_next_upstream_on_503_then_last_answer(procs, tmp_path, testapp):
    a, b = testapp("a"), testapp("b")
    log = tmp_path / "up.log"
    _, port, _ = start_gateway(procs, tmp_path, f"""
        log_format st '$status $upstream_status';
        upstream u {{ server 127.0.0.1:{a}; server 127.0.0.1:{b}; }}
        server {{ listen 127.0.0.1:{{port}}; access_log {log} st;
                  location / {{ proxy_pass http://u; proxy_next_upstream error timeout http_503; }} }}""")
    r = requests.get(f"http://127.0.0.1:{port}/status/503", timeout=5)
    assert r.status_code == 503
    r = requests.get(f"http://127.0.0.1:{port}/status/500", timeout=5)
    assert r.status_code == 500
    deadline = time.time() + 5
    while time.time() < deadline and (not log.exists() or len(log.read_text().splitlines()) < 2):
        time.sleep(0.1)
    lines = log.read_text().splitlines()
    assert lines[0] == "503 503, 503", lines  # both tried, the last answer passed on
    assert lines[1] == "500 500", lines  # http_500 not listed: no retry


def test_client_leaving_early_is_logged_499(procs, tmp_path, testapp):
    a = testapp("a")
    log = tmp_path / "a.log"
    _, port, _ = start_gateway(procs, tmp_path, f"""
        log_format st '$status $request';
        upstream u {{ server 127.0.0.1:{a}; }}
        server {{ listen 127.0.0.1:{{port}}; access_log {log} st;
                  location / {{ proxy_pass http://u; }} }}""")
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /slow?ms=2000 HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.3)
    s.close()
    t0 = time.time()
    deadline = t0 + 6
    while time.time() < deadline and (not log.exists() or not log.read_text()):
        time.sleep(0.05)
    assert log.read_text().splitlines()[0] == "499 GET /slow?ms=2000 HTTP/1.1"
    assert time.time() - t0 < 1.6  # noticed at once (flushed within a second), not after 2 s
