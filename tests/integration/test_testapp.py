"""jern-testapp, driven directly: every endpoint, keep-alive, pipelining, HEAD,
Connection: close, streaming bodies, WebSocket, signals. The other suites rely on
this backend behaving exactly as tested here."""
import base64
import os
import signal
import socket
import subprocess
import threading
import time

import pytest
import requests
import websocket

from conftest import TESTAPP, TESTAPP_STATIC, free_port, raw, wait_port

PATTERN = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def url(port, path):
    return f"http://127.0.0.1:{port}{path}"


def read_response(sock, buf=b""):
    """Reads one Content-Length response from sock; returns (status, headers, body, rest)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before a full head"
        buf += chunk
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(buf) < n:
        chunk = sock.recv(65536)
        assert chunk
        buf += chunk
    return status, headers, buf[:n], buf[n:]


def test_root_names_app_and_version(testapp):
    port = testapp("alpha", extra_env={"APP_VERSION": "v7"})
    r = requests.get(url(port, "/"))
    assert r.status_code == 200
    assert r.text == "hello from alpha v7\n"
    assert r.headers["X-App"] == "alpha"
    # Unknown paths answer hello too, so routing tests can use any path.
    assert requests.get(url(port, "/some/route")).text == "hello from alpha v7\n"


def test_root_without_version(testapp):
    port = testapp("beta")
    assert requests.get(url(port, "/")).text == "hello from beta\n"


def test_health_ok_and_failing(testapp):
    port = testapp("h")
    r = requests.get(url(port, "/health"))
    assert (r.status_code, r.text) == (200, "ok")
    bad = testapp("hbad", extra_env={"FAIL_HEALTH": "1"})
    assert requests.get(url(bad, "/health")).status_code == 500


def test_echo_content_length(testapp):
    port = testapp()
    body = os.urandom(300000)
    r = requests.post(url(port, "/echo"), data=body)
    assert r.status_code == 200
    assert r.headers["Content-Length"] == str(len(body))
    assert r.content == body


def test_echo_chunked_request_gets_chunked_response(testapp):
    port = testapp()
    parts = [b"hello ", b"chunked ", os.urandom(70000)]
    r = requests.post(url(port, "/echo"), data=iter(parts))
    assert r.status_code == 200
    assert r.headers.get("Transfer-Encoding") == "chunked"
    assert r.content == b"".join(parts)


def test_echo_chunked_with_extensions_and_trailers(testapp):
    port = testapp()
    req = (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
           b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n")
    out = raw(port, req)
    assert out.startswith(b"HTTP/1.1 200")
    assert out.endswith(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")


def test_echo_streams_large_body_without_buffering(testapp):
    """256 MiB through /echo, sent and read concurrently: the app's memory must stay
    far below the body size (it streams, it does not buffer)."""
    port = testapp()
    pid = int(requests.get(url(port, "/pid")).text)
    total = 256 << 20
    block = bytes(range(256)) * 4096  # 1 MiB
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(f"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {total}\r\n\r\n".encode())
    got = [0]
    mismatch = [False]
    peak_rss = [0]

    def reader():
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(65536)
        head, buf = buf.split(b"\r\n\r\n", 1)
        assert f"Content-Length: {total}".encode() in head
        pos = 0
        twice = block * 2
        while True:
            if buf:
                # recv returns at most len(block) bytes, so one window of twice covers it.
                off = pos % len(block)
                if buf != twice[off:off + len(buf)]:
                    mismatch[0] = True
                pos += len(buf)
                got[0] = pos
            if pos >= total:
                break
            buf = s.recv(1 << 20)
            if not buf:
                break

    t = threading.Thread(target=reader)
    t.start()
    for _ in range(total // len(block)):
        s.sendall(block)
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    peak_rss[0] = max(peak_rss[0], int(line.split()[1]))
    t.join(60)
    s.close()
    assert got[0] == total
    assert not mismatch[0]
    assert peak_rss[0] < 64 * 1024, f"testapp RSS reached {peak_rss[0]} KiB"


def test_sink_counts_bytes(testapp):
    port = testapp()
    r = requests.post(url(port, "/sink"), data=b"x" * 1234567)
    assert r.status_code == 200
    assert int(r.text) == 1234567
    r = requests.post(url(port, "/sink"), data=iter([b"a" * 1000, b"b" * 24]))
    assert int(r.text) == 1024


def test_expect_continue(testapp):
    port = testapp()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        interim = s.recv(100)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        rest = interim[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
        s.sendall(b"12345")
        status, _, body, _ = read_response(s, rest)
        assert (status, body) == (200, b"5\n")


def test_slow_sleeps(testapp):
    port = testapp()
    t0 = time.time()
    r = requests.get(url(port, "/slow?ms=300"))
    elapsed = time.time() - t0
    assert r.status_code == 200 and r.text == "slept 300 ms\n"
    assert 0.29 <= elapsed < 3
    assert requests.get(url(port, "/slow?ms=-1")).status_code == 400


@pytest.mark.parametrize("code", [200, 201, 302, 404, 418, 500, 503])
def test_status_codes(testapp, code):
    port = testapp()
    r = requests.get(url(port, f"/status/{code}"), allow_redirects=False)
    assert r.status_code == code
    assert r.text == f"status {code}\n"


@pytest.mark.parametrize("code", [204, 304])
def test_status_without_body_keeps_connection_usable(testapp, code):
    port = testapp()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET /status/{code} HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        buf = b""
        while buf.count(b"hello from") < 1:
            buf += s.recv(4096)
        first, second = buf.split(b"\r\n\r\n", 1)
        assert first.startswith(f"HTTP/1.1 {code}".encode())
        assert b"Content-Length" not in first
        assert second.startswith(b"HTTP/1.1 200")


def test_status_out_of_range_is_400(testapp):
    port = testapp()
    assert requests.get(url(port, "/status/99")).status_code == 400
    assert requests.get(url(port, "/status/abc")).status_code == 400


def test_chunked_response(testapp):
    port = testapp()
    out = raw(port, b"GET /chunked?n=3&size=4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, body = out.split(b"\r\n\r\n", 1)
    assert b"Transfer-Encoding: chunked" in head
    assert body == b"4\r\naaaa\r\n4\r\nbbbb\r\n4\r\ncccc\r\n0\r\n\r\n"
    r = requests.get(url(port, "/chunked?n=30&size=1000"))
    assert len(r.content) == 30000
    assert r.content[29000:] == b"d" * 1000  # chunk 29: 'a' + 29 % 26


def test_chunked_response_http10_is_close_delimited(testapp):
    port = testapp()
    out = raw(port, b"GET /chunked?n=2&size=3 HTTP/1.0\r\n\r\n")
    head, body = out.split(b"\r\n\r\n", 1)
    assert b"chunked" not in head
    assert body == b"aaabbb"


def test_big_pattern(testapp):
    port = testapp()
    n = 5_000_000
    r = requests.get(url(port, f"/big?bytes={n}"))
    assert r.headers["Content-Length"] == str(n)
    expected = (PATTERN * (n // len(PATTERN) + 1))[:n]
    assert r.content == expected
    assert requests.get(url(port, "/big?bytes=0")).content == b""


def test_close_delimited(testapp):
    port = testapp("c")
    out = raw(port, b"GET /close HTTP/1.1\r\nHost: x\r\n\r\n")
    head, body = out.split(b"\r\n\r\n", 1)
    assert b"Content-Length" not in head and b"chunked" not in head
    assert b"Connection: close" in head
    assert body == b"close-delimited body from c\n"


def test_headers_verbatim(testapp):
    port = testapp()
    req = (b"GET /headers?q=1 HTTP/1.1\r\nHost: example.test\r\nX-Weird-Case: MiXeD  \r\n"
           b"X-Forwarded-For: 10.0.0.1\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(req)
        status, _, body, _ = read_response(s)
    assert status == 200
    assert body == req


def test_conn_identifies_connections(testapp):
    port = testapp()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /conn HTTP/1.1\r\nHost: x\r\n\r\n")
        _, _, b1, rest = read_response(s)
        s.sendall(b"GET /conn HTTP/1.1\r\nHost: x\r\n\r\n")
        _, _, b2, _ = read_response(s, rest)
    id1, n1 = map(int, b1.split())
    id2, n2 = map(int, b2.split())
    assert id1 == id2  # same TCP connection
    assert n2 >= n1 >= id1
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /conn HTTP/1.1\r\nHost: x\r\n\r\n")
        _, _, b3, _ = read_response(s)
    id3, n3 = map(int, b3.split())
    assert id3 > id1 and n3 >= id3


def test_pid_and_env(procs):
    port = free_port()
    p = procs.start([TESTAPP, port], name="envapp", env={"MY_SECRET": "s3cr3t value"})
    wait_port(port)
    assert requests.get(url(port, "/pid")).text == f"{p.pid}\n"
    assert requests.get(url(port, "/env/MY_SECRET")).text == "s3cr3t value"
    r = requests.get(url(port, "/env/NOT_SET_ANYWHERE"))
    assert r.status_code == 404 and "NOT_SET_ANYWHERE" in r.text


def test_file_serves_only_under_file_root(procs, testapp, tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.txt").write_text("inside\n")
    (tmp_path / "secret.txt").write_text("outside\n")
    port = testapp("files", extra_env={"FILE_ROOT": str(root)})
    r = requests.get(url(port, "/file?path=sub/a.txt"))
    assert r.status_code == 200 and r.text == "inside\n"
    for bad in ("../secret.txt", "sub/../../secret.txt", ".."):
        r = requests.get(url(port, f"/file?path={bad}"))
        assert r.status_code == 403 and ".." in r.text, bad
    r = requests.get(url(port, "/file?path=missing.txt"))
    assert r.status_code == 404
    assert requests.get(url(port, "/file")).status_code == 400
    # without $FILE_ROOT nothing is served
    plain = testapp("nofiles")
    r = requests.get(url(plain, "/file?path=sub/a.txt"))
    assert r.status_code == 403 and "FILE_ROOT" in r.text


def test_port_from_env_and_host(procs):
    port = free_port()
    procs.start([TESTAPP], name="envport", env={"PORT": str(port), "HOST": "127.0.0.1"})
    wait_port(port)
    assert requests.get(url(port, "/")).status_code == 200


def test_ipv6_host(procs):
    port = free_port()
    procs.start([TESTAPP, port], name="v6", env={"HOST": "::1"})
    wait_port(port, host="::1")
    assert requests.get(f"http://[::1]:{port}/health").text == "ok"


def test_bad_port_is_a_clear_error():
    r = subprocess.run([TESTAPP, "notaport"], capture_output=True, text=True, timeout=5)
    assert r.returncode == 2
    assert "port" in r.stderr


def test_keepalive_and_pipelining(testapp):
    port = testapp("p", extra_env={"APP_VERSION": "1"})
    reqs = (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
            b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
            b"POST /status/201 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nzzzz"
            b"GET /sink HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(reqs)
        rest = b""
        got = []
        for _ in range(5):
            status, _, body, rest = read_response(s, rest)
            got.append((status, body))
    assert got == [(200, b"hello from p 1\n"), (200, b"abc"), (200, b"ok"),
                   (201, b"status 201\n"), (200, b"2\n")]


def test_connection_close_honoured(testapp):
    port = testapp()
    out = raw(port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n\r\n")
    assert out.count(b"HTTP/1.1 200") == 1
    assert b"Connection: close" in out


def test_http10_keepalive(testapp):
    port = testapp()
    out = raw(port, b"GET / HTTP/1.0\r\n\r\n")
    assert out.count(b"HTTP/1.1 200") == 1  # closed after one response
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        _, h, _, _ = read_response(s)
        assert h["connection"] == "keep-alive"
        s.sendall(b"GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        status, _, body, _ = read_response(s)
        assert (status, body) == (200, b"ok")


def test_head_has_headers_but_no_body(testapp):
    port = testapp()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"HEAD /big?bytes=1000 HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        buf = b""
        while b"ok" not in buf.split(b"\r\n\r\n", 2)[-1]:
            buf += s.recv(4096)
        first, second, body = buf.split(b"\r\n\r\n", 2)
        assert b"Content-Length: 1000" in first
        assert second.startswith(b"HTTP/1.1 200")
        assert body == b"ok"


@pytest.mark.parametrize("req,status", [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET / HTTP/2.0\r\n\r\n", 505),
    (b"GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    (b"GET / HTTP/1.1\r\nNoColonHere\r\n\r\n", 400),
])
def test_malformed_requests_get_4xx_and_close(testapp, req, status):
    port = testapp()
    out = raw(port, req)
    assert out.startswith(f"HTTP/1.1 {status}".encode())
    assert b"Connection: close" in out


def test_oversized_head_gets_431(testapp):
    port = testapp()
    out = raw(port, b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 431")
    assert requests.get(url(port, "/health")).text == "ok"  # still serving


def test_bad_chunked_body_closes(testapp):
    port = testapp()
    out = raw(port, b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    assert out.startswith(b"HTTP/1.1 200")  # head goes first when streaming
    assert b"0\r\n\r\n" not in out  # ...but the body is not completed: the client sees truncation


def _ws(port):
    return websocket.create_connection(f"ws://127.0.0.1:{port}/ws", timeout=5)


def test_websocket_text_binary_ping_close(testapp):
    port = testapp()
    ws = _ws(port)
    ws.send("héllo")
    assert ws.recv() == "héllo"
    payload = os.urandom(70000)  # 64-bit length form
    ws.send_binary(payload)
    assert ws.recv() == payload
    mid = os.urandom(300)  # 16-bit length form
    ws.send_binary(mid)
    assert ws.recv() == mid
    ws.ping(b"pp")
    op, data = ws.recv_data(control_frame=True)
    assert op == websocket.ABNF.OPCODE_PONG and data == b"pp"
    ws.send_close()
    op, data = ws.recv_data(control_frame=True)
    assert op == websocket.ABNF.OPCODE_CLOSE
    ws.shutdown()


def test_websocket_handshake_accept_value(testapp):
    """RFC 6455 section 1.3's example key must give its example accept value."""
    port = testapp()
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    out = raw(port, (f"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode(),
              timeout=1, until_close=False)
    assert out.startswith(b"HTTP/1.1 101")
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in out


def test_websocket_unmasked_frame_is_protocol_error(testapp):
    port = testapp()
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall((f"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(4096)
        s.sendall(b"\x81\x02hi")  # unmasked text frame
        rest = buf.split(b"\r\n\r\n", 1)[1]
        while len(rest) < 4:
            rest += s.recv(16)
        assert rest[:4] == b"\x88\x02\x03\xea"  # close 1002


def test_ws_without_upgrade_is_400(testapp):
    port = testapp()
    assert requests.get(url(port, "/ws")).status_code == 400


def test_sigterm_exits_zero_promptly(procs):
    port = free_port()
    p = procs.start([TESTAPP, port], name="term")
    wait_port(port)
    # An open keep-alive connection and a sleeping request must not delay the exit.
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /slow?ms=10000 HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.1)
    t0 = time.time()
    p.send(signal.SIGTERM)
    assert p.wait(timeout=5) == 0
    assert time.time() - t0 < 1
    s.close()


def test_crash_exits_nonzero(procs):
    port = free_port()
    p = procs.start([TESTAPP, port], name="crash")
    wait_port(port)
    with pytest.raises(requests.ConnectionError):
        requests.get(url(port, "/crash"), timeout=5)
    assert p.wait(timeout=5) == 1


def test_many_concurrent_connections(testapp):
    port = testapp()
    socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(200)]
    for s in socks:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    for s in socks:
        status, _, body, _ = read_response(s)
        assert (status, body) == (200, b"ok")
        s.close()


@pytest.mark.skipif(not os.path.exists(TESTAPP_STATIC),
                    reason="build/jern-testapp-static not built (make build/jern-testapp-static)")
def test_static_binary_is_static_and_serves(procs):
    out = subprocess.run(["file", TESTAPP_STATIC], capture_output=True, text=True).stdout
    assert "statically linked" in out
    port = free_port()
    procs.start([TESTAPP_STATIC, port], name="static", env={"APP_NAME": "st", "APP_VERSION": "9"})
    wait_port(port)
    assert requests.get(url(port, "/")).text == "hello from st 9\n"


def test_socket_activation_and_delay():
    """LISTEN_FDS/LISTEN_PID (systemd's convention): the app serves on the
    inherited fd 3 and binds nothing itself; a LISTEN_PID of another process
    is ignored. DELAY_MS slows every answer but /health."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        port = s.getsockname()[1]
        fd = s.fileno()
        env = dict(os.environ, LISTEN_FDS="1", DELAY_MS="120", PORT="0")
        # fd 3 in the child, kept open (close_fds runs after preexec_fn)
        p = subprocess.Popen(["/bin/sh", "-c", f"LISTEN_PID=$$ exec {TESTAPP}"], env=env,
                             pass_fds=(3,), preexec_fn=lambda: os.dup2(fd, 3),
                             stderr=subprocess.PIPE)
        try:
            t0 = time.time()
            assert requests.get(url(port, "/health"), timeout=5).text == "ok"
            t1 = time.time()
            assert requests.get(url(port, "/"), timeout=5).text == "hello from testapp\n"
            assert time.time() - t1 >= 0.12 and t1 - t0 < 0.12 + 1
        finally:
            p.terminate()
            err = p.communicate(timeout=5)[1]
        assert b"inherited socket" in err
        # another process's LISTEN_PID: ignored, so PORT=0 binds a port of its own
        env["LISTEN_PID"] = "1"
        p = subprocess.Popen([TESTAPP], env=env, pass_fds=(fd,), stderr=subprocess.PIPE)
        time.sleep(0.3)
        p.terminate()
        assert b"listening on" in p.communicate(timeout=5)[1]
