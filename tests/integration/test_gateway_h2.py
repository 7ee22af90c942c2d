"""HTTP/2 on the front of `jern gateway`: h2 by ALPN over TLS and h2c with
prior knowledge, with real clients (curl, nghttp, h2load) and a real
backend; then the known HTTP/2 attacks with frames written by hand, each
answered by the protection it tests."""
import os
import socket
import struct
import subprocess
import time

import pytest

from conftest import JERN, free_port, have, syscall_counts, wait_port
from h2raw import (CONTINUATION, DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS,
                   INITIAL_WINDOW_SIZE, PING, RST_STREAM, Reader, SETTINGS, connect, frame, get,
                   goaway_code, goaway_last, request_block, settings, window_update)
from test_gateway import start_gateway
from test_gateway_tls import make_cert

pytestmark = pytest.mark.skipif(not (have("nghttp") and have("h2load") and have("openssl")),
                                reason="nghttp2-client or openssl not installed")


def h2_gateway(procs, tmp_path, app, server_extra="", http_extra="", old_syntax=False,
               log_format=""):
    """One TLS address with http2 (ALPN) and one clear-text h2c address.
    Returns (tls port, h2c port, certificate, access log path)."""
    crt, key = make_cert(tmp_path, "a.test")
    h2c = free_port()
    log = tmp_path / "access.log"
    tls_listen = "listen 127.0.0.1:{port} ssl http2;" if old_syntax else \
        "listen 127.0.0.1:{port} ssl; http2 on;"
    body = f"""
        upstream be {{ server 127.0.0.1:{app}; keepalive 16; }}
        access_log {log} {log_format};
        {http_extra}
        server {{ {tls_listen} server_name a.test; {server_extra}
                  ssl_certificate {crt}; ssl_certificate_key {key};
                  location / {{ proxy_pass http://be; }} }}
        server {{ listen 127.0.0.1:{h2c} http2; {server_extra}
                  location / {{ proxy_pass http://be; }} }}"""
    _, port, _ = start_gateway(procs, tmp_path, body)
    return port, h2c, crt, log


def curl(*args, timeout=20):
    out = subprocess.run(["curl", "-sS", *args], capture_output=True, timeout=timeout)
    assert out.returncode == 0, out.stderr
    return out.stdout


def curl_tls(port, crt, path, *args):
    return curl("--cacert", str(crt), "--resolve", f"a.test:{port}:127.0.0.1",
                f"https://a.test:{port}{path}", *args)


def test_h2_by_alpn_and_http11_beside_it(procs, tmp_path, testapp):
    app = testapp("a")
    fmt = "log_format p '\"$request\" $status $server_protocol $scheme $ssl_protocol';"
    port, h2c, crt, log = h2_gateway(procs, tmp_path, app, http_extra=fmt, log_format="p")
    out = curl_tls(port, crt, "/", "--http2", "-w", "\n%{http_version} %{http_code}")
    assert out.startswith(b"hello from a") and out.endswith(b"\n2 200")
    # a client without h2 in its ALPN list speaks HTTP/1.1 as before
    out = curl_tls(port, crt, "/", "--http1.1", "-w", "\n%{http_version} %{http_code}")
    assert out.endswith(b"\n1.1 200")
    curl(f"http://127.0.0.1:{h2c}/", "--http2-prior-knowledge")
    # each went through the access log like any request, with its protocol,
    # and a stream on TLS has the session's $ssl_* (nginx's line for h2)
    time.sleep(0.5)
    lines = log.read_text().splitlines()
    assert lines == ['"GET / HTTP/2.0" 200 HTTP/2.0 https TLSv1.3',
                     '"GET / HTTP/1.1" 200 HTTP/1.1 https TLSv1.3',
                     '"GET / HTTP/2.0" 200 HTTP/2.0 http -'], lines


def test_older_listen_http2_syntax(procs, tmp_path, testapp):
    app = testapp("a")
    port, _, crt, _ = h2_gateway(procs, tmp_path, app, old_syntax=True)
    out = curl_tls(port, crt, "/", "--http2", "-w", "\n%{http_version} %{http_code}")
    assert out.endswith(b"\n2 200")


def test_bodies_both_ways_and_chunked(procs, tmp_path, testapp):
    app = testapp("a")
    port, _, crt, _ = h2_gateway(procs, tmp_path, app)
    blob = tmp_path / "blob"
    blob.write_bytes(bytes(range(256)) * 2000)  # 512000 bytes
    out = curl_tls(port, crt, "/echo", "--http2", "--data-binary", f"@{blob}")
    assert out == blob.read_bytes()
    # no content-length from the client: the exchange is chunked upstream
    out = subprocess.run(["curl", "-sS", "--cacert", str(crt), "--resolve",
                          f"a.test:{port}:127.0.0.1", f"https://a.test:{port}/echo", "--http2",
                          "-T", "-"], input=blob.read_bytes(), capture_output=True, timeout=20)
    assert out.returncode == 0 and out.stdout == blob.read_bytes()
    out = curl_tls(port, crt, "/big?bytes=3000000", "--http2", "-o", "/dev/null", "-w",
                   "%{size_download}")
    assert out == b"3000000"
    out = curl_tls(port, crt, "/chunked", "--http2")
    assert out.endswith(b"cccccccccccccccc")
    # over client_max_body_size (1m): the answer arrives, the rest of the body is dropped
    big = tmp_path / "big"
    big.write_bytes(b"z" * 3000000)
    out = curl_tls(port, crt, "/echo", "--http2", "--data-binary", f"@{big}", "-o", "/dev/null",
                   "-w", "%{http_code}")
    assert out == b"413"


def test_h2c_prior_knowledge_and_http11_on_the_same_address(procs, tmp_path, testapp):
    app = testapp("a")
    _, h2c, _, _ = h2_gateway(procs, tmp_path, app)
    out = curl("--http2-prior-knowledge", f"http://127.0.0.1:{h2c}/", "-w",
               "\n%{http_version} %{http_code}")
    assert out.startswith(b"hello from a") and out.endswith(b"\n2 200")
    out = curl(f"http://127.0.0.1:{h2c}/", "-w", "\n%{http_version} %{http_code}")
    assert out.endswith(b"\n1.1 200")


def test_no_h2c_without_http2(procs, tmp_path, testapp):
    app = testapp("a")
    _, port, _ = start_gateway(procs, tmp_path, f"""
        upstream be {{ server 127.0.0.1:{app}; }}
        server {{ listen 127.0.0.1:{{port}}; location / {{ proxy_pass http://be; }} }}""")
    out = subprocess.run(["curl", "-sS", "--http2-prior-knowledge",
                          f"http://127.0.0.1:{port}/"], capture_output=True, timeout=10)
    assert out.returncode != 0


def test_nghttp_many_streams_and_h2load(procs, tmp_path, testapp):
    app = testapp("a")
    port, h2c, crt, _ = h2_gateway(procs, tmp_path, app)
    urls = [f"http://127.0.0.1:{h2c}/big?bytes={20000 + i}" for i in range(20)]
    out = subprocess.run(["nghttp", "-ns", *urls], capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    # the stats table: "id responseEnd requestStart process code size request path"
    codes = [ln.split()[4] for ln in out.stdout.splitlines() if ln.rstrip().endswith(
        tuple(f"/big?bytes={20000 + i}" for i in range(20)))]
    assert codes == ["200"] * 20, out.stdout
    out = subprocess.run(["h2load", "-n", "2000", "-c", "4", "-m", "10",
                          f"https://127.0.0.1:{port}/"], capture_output=True, text=True,
                         timeout=60)
    assert "2000 succeeded, 0 failed" in out.stdout, out.stdout


def test_slow_reader_stalls_only_its_own_stream(procs, tmp_path, testapp):
    app = testapp("a")
    _, h2c, _, _ = h2_gateway(procs, tmp_path, app)
    s = connect(h2c)
    r = Reader(s)
    # plenty of connection window, but stream 1's own window is never opened
    s.sendall(window_update(0, 1 << 30) + get(1, "/big?bytes=2000000"))
    got1 = 0
    while got1 < 65535:
        f = r.until(lambda f: f[0] == DATA and f[2] == 1)
        assert f is not None
        got1 += len(f[3])
    s.sendall(get(3, "/big?bytes=300000") + window_update(3, 1 << 20))
    got3, deadline = 0, time.monotonic() + 10
    while True:
        f = r.until(lambda f: f[0] == DATA and f[2] == 3, timeout=deadline - time.monotonic())
        assert f is not None, "stream 3 stalled behind stream 1"
        got3 += len(f[3])
        if f[1] & END_STREAM:
            break
    assert got3 == 300000
    s.close()


# --- attacks ---------------------------------------------------------------

def closed_or_goaway(r, timeout=10):
    f = r.until(lambda f: f[0] == GOAWAY, timeout=timeout)
    return f is not None or r.closed


def test_rapid_reset_is_cut_off(procs, tmp_path, testapp):
    """CVE-2023-44487: HEADERS then RST_STREAM, over and over."""
    app = testapp("a")
    _, h2c, _, _ = h2_gateway(procs, tmp_path, app)
    s = connect(h2c)
    r = Reader(s)
    sent = 0
    try:
        for batch in range(40):
            buf = b""
            for i in range(100):
                sid = 1 + 2 * (batch * 100 + i)
                buf += get(sid) + frame(RST_STREAM, 0, sid, struct.pack(">I", 8))
            s.sendall(buf)
            sent += 100
    except OSError:
        pass
    f = r.until(lambda f: f[0] == GOAWAY, timeout=10)
    assert f is not None, f"no GOAWAY after {sent} reset streams"
    assert goaway_last(f) < 2 * 4000


def test_continuation_flood_is_cut_off(procs, tmp_path, testapp):
    """2024: a header block that never ends, in CONTINUATION frames each
    small enough to stay far below the header list limit."""
    app = testapp("a")
    _, h2c, _, _ = h2_gateway(procs, tmp_path, app)
    s = connect(h2c)
    r = Reader(s, ack=False)  # an ACK would end the header block itself
    s.sendall(frame(HEADERS, 0, 1, b"\x82\x86"))
    closed = False
    try:
        for i in range(100):
            s.sendall(frame(CONTINUATION, 0, 1, b"\x00\x03x-c\x01" + bytes([97 + i % 26])))
    except OSError:
        closed = True
    assert closed or closed_or_goaway(r, timeout=3)


def test_hpack_bomb_ends_the_connection(procs, tmp_path, testapp):
    """A 4 KB field put into the dynamic table, then referenced with one
    byte each: 4,000 references decode to 16 MB."""
    app = testapp("a")
    _, h2c, _, _ = h2_gateway(procs, tmp_path, app)
    s = connect(h2c)
    r = Reader(s)
    big = b"a" * 4000
    # literal with incremental indexing, new name "x-b"; value length in the
    # 7-bit prefix integer encoding (127 + 3873)
    field = b"\x40\x03x-b" + b"\x7f" + bytes([0xA1, 0x1E]) + big
    block = request_block() + field + b"\xbe" * 4000  # index 62: the new entry
    s.sendall(frame(HEADERS, END_HEADERS | END_STREAM, 1, block))
    f = r.until(lambda f: f[0] in (GOAWAY, HEADERS), timeout=10)
    assert f is not None and f[0] == GOAWAY, f
    assert goaway_code(f) == 0xB  # ENHANCE_YOUR_CALM


@pytest.mark.parametrize("flood", ["ping", "settings"])
def test_control_frame_flood_from_a_client_that_does_not_read(procs, tmp_path, testapp, flood):
    """PING or SETTINGS frames, each wanting an ACK, from a client that never
    reads them: the ACKs queue up to a bound, then the connection goes."""
    app = testapp("a")
    _, h2c, _, _ = h2_gateway(procs, tmp_path, app)
    s = connect(h2c, rcvbuf=4096, timeout=2)
    one = frame(PING, 0, 0, b"12345678") if flood == "ping" else settings([(3, 100)])
    closed = False
    deadline = time.monotonic() + 15
    try:
        while time.monotonic() < deadline:
            s.sendall(one * 2000)
    except OSError:
        closed = True  # reset by the gateway (a timeout means it stopped reading)
    assert closed and time.monotonic() < deadline


def test_zero_window_stream_is_reset_after_send_timeout(procs, tmp_path, testapp):
    app = testapp("a")
    _, h2c, _, _ = h2_gateway(procs, tmp_path, app, server_extra="send_timeout 1s;")
    s = connect(h2c, init=settings([(INITIAL_WINDOW_SIZE, 0)]))
    r = Reader(s)
    t0 = time.monotonic()
    s.sendall(get(1, "/big?bytes=200000"))
    f = r.until(lambda f: f[0] == RST_STREAM and f[2] == 1, timeout=8)
    assert f is not None, "a stream with a shut window is held forever"
    assert 0.9 <= time.monotonic() - t0 < 6
    # the connection itself is still fine
    s.sendall(get(3, "/"))
    f = r.until(lambda f: f[0] == HEADERS and f[2] == 3, timeout=5)
    assert f is not None


def test_streams_per_connection_end_with_goaway(procs, tmp_path, testapp):
    """keepalive_requests bounds the streams of one connection (nginx's
    rule), so no client walks the stream ids to their end on one."""
    app = testapp("a")
    _, h2c, _, _ = h2_gateway(procs, tmp_path, app, server_extra="keepalive_requests 5;")
    s = connect(h2c)
    r = Reader(s)
    s.sendall(b"".join(get(1 + 2 * i) for i in range(7)))
    f = r.until(lambda f: f[0] == GOAWAY, timeout=5)
    assert f is not None and goaway_last(f) == 9
    done = set()
    while True:
        f = r.until(lambda f: f[0] == HEADERS, timeout=3)
        if f is None:
            break
        done.add(f[2])
    assert {11, 13}.isdisjoint(done)


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_streams_are_not_connections(procs, tmp_path, testapp):
    """100 streams in flight on one connection: the gateway holds the
    client's socket and one upstream connection per stream, nothing for the
    streams themselves (no socket pair, no second client connection), and
    they do not count toward worker_connections (8 here): another client is
    still accepted. A reset stream ends its exchange and upstream request."""
    app = testapp("a")
    h2c = free_port()
    conf, log = tmp_path / "jern.conf", tmp_path / "access.log"
    conf.write_text(f"""worker_processes 1;
events {{ worker_connections 8; }}
http {{ upstream be {{ server 127.0.0.1:{app}; }} access_log {log};
       server {{ listen 127.0.0.1:{h2c} http2; location / {{ proxy_pass http://be; }} }} }}
""")
    p = procs.start([JERN, "gateway", "-c", conf], name="jern")
    wait_port(h2c)
    base = open_fds(p.pid)
    s = connect(h2c)
    r = Reader(s)
    s.sendall(b"".join(get(1 + 2 * i, "/slow?ms=3000") for i in range(100)))
    most, deadline = 0, time.monotonic() + 1.5
    while time.monotonic() < deadline:
        most = max(most, open_fds(p.pid) - base)
        time.sleep(0.05)
    # 100 upstream connections prove the streams were all in flight at once
    assert 100 <= most <= 1 + 100 + 2, f"{most} descriptors for 100 streams"
    out = curl(f"http://127.0.0.1:{h2c}/", "--http1.1", "-m", "1.2")
    assert out.startswith(b"hello from a")
    done = 0
    while done < 100:
        f = r.until(lambda f: f[1] & END_STREAM, timeout=10)
        assert f is not None, f"{done} of 100 streams answered"
        done += 1
    # RST_STREAM: the upstream connection goes at once, the log says 499
    # (the slow request may take a pooled upstream connection or a new one)
    s.sendall(get(201, "/slow?ms=3000"))
    time.sleep(0.3)
    busy = open_fds(p.pid)
    s.sendall(frame(RST_STREAM, 0, 201, struct.pack(">I", 8)))
    deadline = time.monotonic() + 2
    while open_fds(p.pid) >= busy and time.monotonic() < deadline:
        time.sleep(0.05)
    assert open_fds(p.pid) == busy - 1
    time.sleep(0.3)
    assert log.read_text().splitlines()[-1].split('"')[2].split()[0] == "499"
    s.close()


def traced_h2load(pid, tmp_path, url, tag):
    """h2load -c10 -m1 for 2 s against url while strace -c counts the
    gateway's system calls: (counts, h2load's output)."""
    return syscall_counts(pid, tmp_path / f"strace-{tag}.txt", lambda: subprocess.run(
        ["h2load", "-c10", "-m1", "-D2", url], capture_output=True, text=True,
        timeout=40).stdout)


def gateway_pid(port):
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True)
    return int(out.stdout.split("pid=")[1].split(",")[0])


@pytest.mark.skipif(not have("strace"), reason="strace not installed")
def test_sessions_frames_leave_with_the_batch(procs, tmp_path, testapp):
    """The frames of the HTTP/2 sessions whose streams answered in one batch
    go out in one io_uring submission (sealed into TLS records first over
    TLS): the gateway makes almost no send system calls of its own."""
    app = testapp("a")
    port, h2c, _, _ = h2_gateway(procs, tmp_path, app)
    pid = gateway_pid(port)
    for tag, url in (("tls", f"https://127.0.0.1:{port}/"), ("h2c", f"http://127.0.0.1:{h2c}/")):
        calls, out = traced_h2load(pid, tmp_path, url, tag)
        assert " 0 failed" in out and " 0 errored" in out, out
        sends = calls.get("sendto", 0) + calls.get("sendmsg", 0)
        assert calls.get("recvfrom", 0) > 2000, (tag, calls)
        assert calls.get("io_uring_enter", 0) > 0, (tag, calls)
        assert sends < calls["recvfrom"] / 10, (tag, calls)


PATTERN = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def test_batched_frames_arrive_whole_under_load(procs, tmp_path, testapp):
    """While h2load keeps the worker's batches full, nghttp fetches bodies
    around one sealed record's size and far above it, over TLS and h2c:
    every body arrives whole and in order."""
    import threading
    app = testapp("a")
    port, h2c, _, _ = h2_gateway(procs, tmp_path, app)
    sizes = [0, 100, 15000, 16000, 16384, 40000, 300000]
    errors = []

    def fetcher(base):
        for n in sizes * 2:
            r = subprocess.run(["nghttp", f"{base}/big?bytes={n}"], capture_output=True,
                               timeout=30)
            want = (PATTERN * (n // len(PATTERN) + 1))[:n]
            if r.returncode != 0 or r.stdout != want:
                errors.append(f"{base} {n}: rc {r.returncode}, {len(r.stdout)} bytes, "
                              f"{r.stderr[-300:]!r}")

    loads = [subprocess.Popen(["h2load", "-c10", "-m1", "-D4", url], stdout=subprocess.DEVNULL)
             for url in (f"https://127.0.0.1:{port}/", f"http://127.0.0.1:{h2c}/")]
    time.sleep(0.5)
    threads = [threading.Thread(target=fetcher, args=(base,)) for base in
               (f"https://127.0.0.1:{port}", f"http://127.0.0.1:{h2c}") for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for p in loads:
        p.wait(30)
    assert not any(t.is_alive() for t in threads), "a fetch hung"
    assert not errors, errors[:5]
