"""Gateway streaming: chunked both ways, close-delimited, a 1 GiB body with bounded
memory, pipelining, WebSocket through the seed's Upgrade headers, HEAD/204/304."""
import http.client
import os
import socket
import threading
import time
from pathlib import Path

import requests
import websocket

from conftest import JERN, ROOT, wait_port, free_port
from test_gateway import raw, simple_proxy, start_gateway

WS_HEADERS = ("proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade;"
              " proxy_set_header Connection 'upgrade'; proxy_set_header Host $host;")


def test_chunked_request_and_response(procs, tmp_path, testapp):
    a = testapp("a")
    _, port, _ = simple_proxy(procs, tmp_path, [a], upstream_extra="keepalive 2;")

    def gen():
        for i in range(50):
            yield bytes([97 + i % 26]) * 1000

    r = requests.post(f"http://127.0.0.1:{port}/echo", data=gen(), timeout=10)
    assert r.status_code == 200
    assert r.content == b"".join(gen())
    assert r.headers.get("Transfer-Encoding") == "chunked"
    r = requests.get(f"http://127.0.0.1:{port}/chunked?n=30&size=777", timeout=10)
    assert r.content == b"".join(bytes([97 + i % 26]) * 777 for i in range(30))
    out = raw(port, b"GET /chunked?n=2&size=3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert b"Transfer-Encoding: chunked\r\n" in out
    assert out.endswith(b"3\r\naaa\r\n3\r\nbbb\r\n0\r\n\r\n"), out
    # HTTP/1.0 client: de-chunked, delimited by the close
    out = raw(port, b"GET /chunked?n=2&size=3 HTTP/1.0\r\n\r\n")
    assert out.endswith(b"\r\n\r\naaabbb"), out
    # close-delimited upstream body reaches the client whole
    r = requests.get(f"http://127.0.0.1:{port}/close", timeout=10)
    assert r.status_code == 200 and len(r.content) > 0


def test_head_204_304_have_no_body(procs, tmp_path, testapp):
    a = testapp("a")
    _, port, _ = simple_proxy(procs, tmp_path, [a], upstream_extra="keepalive 2;")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"HEAD /big?bytes=5000 HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /status/204 HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /status/304 HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        out = b""
        while True:
            c = s.recv(65536)
            if not c:
                break
            out += c
    parts = out.split(b"HTTP/1.1 ")
    assert [p[:3] for p in parts[1:]] == [b"200", b"204", b"304", b"200"], out
    assert b"Content-Length: 5000" in parts[1] and parts[1].endswith(b"\r\n\r\n")
    assert parts[2].endswith(b"\r\n\r\n") and parts[3].endswith(b"\r\n\r\n")
    assert parts[4].endswith(b"hello from a\n")


def test_pipelined_requests_answered_in_order(procs, tmp_path, testapp):
    a = testapp("a")
    _, port, _ = start_gateway(procs, tmp_path, f"""
        upstream u {{ server 127.0.0.1:{a}; keepalive 4; }}
        server {{ listen 127.0.0.1:{{port}};
                  location /local {{ return 200 "local\\n"; }}
                  location / {{ proxy_pass http://u; }} }}""")
    req = (b"GET /slow?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n"
           b"GET /local HTTP/1.1\r\nHost: x\r\n\r\n"
           b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
           b"GET /status/404 HTTP/1.1\r\nHost: x\r\n\r\n"
           b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    out = raw(port, req, timeout=10)
    bodies = [b"slept 300 ms\n", b"local\n", b"hello", b"", b"hello from a\n"]
    pos = 0
    for i, want in enumerate(bodies):
        idx = out.find(b"HTTP/1.1 ", pos)
        assert idx == pos, (i, out)
        end = out.find(b"\r\n\r\n", idx) + 4
        head = out[idx:end].decode()
        n = int([ln.split(":")[1] for ln in head.split("\r\n") if ln.lower().startswith("content-length")][0])
        body = out[end:end + n]
        if want:
            assert body == want, (i, body)
        else:
            assert head.startswith("HTTP/1.1 404")
        pos = end + n
    assert pos == len(out)


def test_websocket_echo_through_upgrade(procs, tmp_path, testapp):
    a = testapp("a")
    _, port, _ = simple_proxy(procs, tmp_path, [a], loc_extra=WS_HEADERS + " proxy_read_timeout 2s;")
    ws = websocket.create_connection(f"ws://127.0.0.1:{port}/ws", timeout=5)
    try:
        for msg in ("hello", "x" * 70000, "last"):
            ws.send(msg)
            assert ws.recv() == msg
        ws.send_binary(b"\x00\x01\x02")
        assert ws.recv() == b"\x00\x01\x02"
    finally:
        ws.close()
    # a normal request with the same config is a normal response (no 101)
    r = requests.get(f"http://127.0.0.1:{port}/", timeout=5)
    assert r.status_code == 200
    # Upgrade asked but the upstream answers 200: stays HTTP, connection usable
    r = requests.get(f"http://127.0.0.1:{port}/", headers={"Upgrade": "websocket", "Connection": "upgrade"},
                     timeout=5)
    assert r.status_code == 200 and r.text.startswith("hello from a")


def rss_kb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def test_one_gib_body_streams_with_bounded_memory(procs, tmp_path, testapp):
    """Uses the optimised build: ASan's allocator would dominate the RSS figure."""
    a = testapp("a")
    opt = ROOT / "build" / "jern"
    port = free_port()
    conf = tmp_path / "big.conf"
    conf.write_text(f"worker_processes 1; events {{}} http {{ upstream u {{ server 127.0.0.1:{a}; }}\n"
                    f"server {{ listen 127.0.0.1:{port}; client_max_body_size 0;\n"
                    f"location / {{ proxy_pass http://u; }} }} }}\n")
    p = procs.start([opt if opt.exists() else JERN, "gateway", "-c", conf], name="big")
    wait_port(port)
    requests.get(f"http://127.0.0.1:{port}/", timeout=5)
    base = rss_kb(p.pid)
    peak = [base]
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            peak[0] = max(peak[0], rss_kb(p.pid))
            time.sleep(0.05)

    t = threading.Thread(target=watch)
    t.start()
    try:
        total = 1 << 30
        block = os.urandom(1 << 20)

        def gen():
            for _ in range(total >> 20):
                yield block

        t0 = time.time()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.putrequest("POST", "/sink")
        conn.putheader("Content-Length", str(total))
        conn.endheaders()
        for b in gen():
            conn.send(b)
        resp = conn.getresponse()
        assert resp.status == 200 and resp.read().strip() == str(total).encode()
        conn.close()
        got = 0
        with requests.get(f"http://127.0.0.1:{port}/big?bytes={total}", stream=True, timeout=60) as r:
            for c in r.iter_content(1 << 20):
                got += len(c)
        assert got == total
        assert time.time() - t0 < 60
    finally:
        stop.set()
        t.join()
    assert peak[0] - base < 64 * 1024, (base, peak[0])


def test_many_concurrent_connections(procs, tmp_path, testapp):
    """One worker holds 10,000 client connections at once and still answers."""
    a = testapp("a")
    _, port, _ = simple_proxy(procs, tmp_path, [a])
    socks = []
    try:
        for _ in range(10000):
            s = socket.socket()
            s.setblocking(True)
            s.connect(("127.0.0.1", port))
            socks.append(s)
        for s in socks[::1000]:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        for s in socks[::1000]:
            s.settimeout(10)
            assert s.recv(4096).startswith(b"HTTP/1.1 200")
        r = requests.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert r.status_code == 200
    finally:
        for s in socks:
            s.close()
