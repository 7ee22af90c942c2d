"""Gateway hardening (issue 5), proved through the real binary: every malformed
request of the issue sent over a raw socket gets the right 4xx/5xx with a reason,
a closed connection, and nothing reaches the backend; invalid upstream responses
become 502; truncation is visible; slow and greedy clients are bounded."""
import os
import socket
import threading
import time

import pytest

from rawbackend import RawBackend
from test_gateway import start_gateway


def exchange(port, data, limit=5.0):
    """Sends data, reads until the server closes. Returns (bytes, closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=limit)
    try:
        s.sendall(data)
    except OSError:
        pass
    s.settimeout(0.2)
    out = b""
    deadline = time.time() + limit
    while time.time() < deadline:
        try:
            c = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            s.close()
            return out, True
        if not c:
            s.close()
            return out, True
        out += c
    s.close()
    return out, False


def gateway_for(procs, tmp_path, backend_port, server_extra="", head=""):
    return start_gateway(procs, tmp_path, f"""
        upstream app {{ server 127.0.0.1:{backend_port}; }}
        server {{ listen 127.0.0.1:{{port}}; {server_extra}
                  location / {{ proxy_pass http://app; }} }}""", head=head)


H = b"Host: x\r\n"
POST = b"POST / HTTP/1.1\r\n" + H
CHUNKED = POST + b"Transfer-Encoding: chunked\r\n\r\n"

# name, raw request, expected status. Every one must be refused by the gateway
# itself, with a reason, the connection closed, and no byte sent upstream.
BAD_REQUESTS = [
    ("cl_and_te", POST + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("te_and_cl", POST + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400),
    ("two_cl_same", POST + b"Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400),
    ("two_cl_differ", POST + b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
    ("cl_list", POST + b"Content-Length: 3, 3\r\n\r\nabc", 400),
    ("cl_plus", POST + b"Content-Length: +3\r\n\r\nabc", 400),
    ("cl_minus", POST + b"Content-Length: -1\r\n\r\n", 400),
    ("cl_hex", POST + b"Content-Length: 0x3\r\n\r\nabc", 400),
    ("cl_space_inside", POST + b"Content-Length: 1 2\r\n\r\n", 400),
    ("cl_overflow", POST + b"Content-Length: 99999999999999999999999\r\n\r\n", 400),
    ("cl_empty", POST + b"Content-Length: \r\n\r\n", 400),
    ("te_last_not_chunked", POST + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400),
    ("te_chunked_twice", POST + b"Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400),
    ("te_unknown", POST + b"Transfer-Encoding: foo, chunked\r\n\r\n0\r\n\r\n", 501),
    ("te_unknown_only", POST + b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 501),
    ("te_in_http10", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("obs_fold", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n  folded\r\n\r\n", 400),
    ("space_before_colon", b"GET / HTTP/1.1\r\nHost: x\r\nX-A : a\r\n\r\n", 400),
    ("tab_before_colon", b"GET / HTTP/1.1\r\nHost: x\r\nX-A\t: a\r\n\r\n", 400),
    ("nul_in_value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400),
    ("ctl_in_value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n", 400),
    ("del_in_value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n", 400),
    ("bare_cr_in_value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400),
    ("ctl_in_name", b"GET / HTTP/1.1\r\nHost: x\r\nX\x01A: a\r\n\r\n", 400),
    ("nul_in_name", b"GET / HTTP/1.1\r\nHost: x\r\nX\x00A: a\r\n\r\n", 400),
    ("bad_name_char", b"GET / HTTP/1.1\r\nHost: x\r\nX(A): a\r\n\r\n", 400),
    ("empty_name", b"GET / HTTP/1.1\r\nHost: x\r\n: a\r\n\r\n", 400),
    ("bare_lf_lines", b"GET / HTTP/1.1\nHost: x\n\n", 400),
    ("bare_lf_one_header", b"GET / HTTP/1.1\r\nHost: x\nX-A: a\r\n\r\n", 400),
    ("bare_lf_end", b"GET / HTTP/1.1\r\nHost: x\r\n\n", 400),
    ("chunk_size_nonhex", CHUNKED + b"zz\r\nabc\r\n0\r\n\r\n", 400),
    ("chunk_size_0x", CHUNKED + b"0x3\r\nabc\r\n0\r\n\r\n", 400),
    ("chunk_size_plus", CHUNKED + b"+3\r\nabc\r\n0\r\n\r\n", 400),
    ("chunk_size_minus", CHUNKED + b"-3\r\nabc\r\n0\r\n\r\n", 400),
    ("chunk_size_underscore", CHUNKED + b"1_0\r\n" + b"a" * 16 + b"\r\n0\r\n\r\n", 400),
    ("chunk_size_overflow", CHUNKED + b"10000000000000000\r\nabc\r\n0\r\n\r\n", 400),
    ("chunk_size_empty", CHUNKED + b"\r\nabc\r\n0\r\n\r\n", 400),
    ("chunk_ext_too_long", CHUNKED + b"3;" + b"e" * 5000 + b"\r\nabc\r\n0\r\n\r\n", 400),
    ("chunk_ext_bad_char", CHUNKED + b"3;a\x01b\r\nabc\r\n0\r\n\r\n", 400),
    ("chunk_missing_crlf", CHUNKED + b"3\r\nabcX\r\n0\r\n\r\n", 400),
    ("chunk_bare_lf", CHUNKED + b"3\nabc\n0\n\n", 400),
    ("no_host_http11", b"GET / HTTP/1.1\r\nX-A: a\r\n\r\n", 400),
    ("two_hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    ("two_hosts_same", b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400),
    ("host_bad_syntax", b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
    ("host_vs_absolute", b"GET http://a.test/ HTTP/1.1\r\nHost: b.test\r\n\r\n", 400),
    ("host_vs_absolute_port", b"GET http://a.test:81/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 400),
    ("absolute_userinfo", b"GET http://u@a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 400),
    ("method_bad_token", b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("method_empty", b" / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("two_spaces", b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("target_bad_percent", b"GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("host_empty_label", b"GET / HTTP/1.1\r\nHost: a..b\r\n\r\n", 400),
    ("host_empty", b"GET / HTTP/1.1\r\nHost: \r\n\r\n", 400),
    ("trace", b"TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", 405),
    ("repeated_authorization",
     b"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n", 400),
    ("target_no_slash", b"GET a HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("version_lower", b"GET / http/1.1\r\nHost: x\r\n\r\n", 400),
    ("version_garbage", b"GET / HTTP/1.1x\r\nHost: x\r\n\r\n", 400),
    ("version_missing", b"GET /\r\nHost: x\r\n\r\n", 400),
    ("version_2", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    ("version_1_2", b"GET / HTTP/1.2\r\nHost: x\r\n\r\n", 505),
    ("version_0_9", b"GET / HTTP/0.9\r\nHost: x\r\n\r\n", 505),
    ("request_line_too_long", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    ("header_too_large", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 40000 + b"\r\n\r\n", 431),
    ("headers_too_large_total",
     b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: %s\r\n" % (i, b"a" * 4000)
                                                for i in range(10)) + b"\r\n", 431),
    ("too_many_headers",
     b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: a\r\n" % i for i in range(120)) + b"\r\n",
     431),
]


@pytest.fixture
def guarded(procs, tmp_path):
    be = RawBackend()
    _, port, _ = gateway_for(procs, tmp_path, be.port)
    yield be, port
    be.close()


def test_malformed_requests_are_refused_and_never_forwarded(guarded):
    be, port = guarded
    failures = []
    for name, data, status in BAD_REQUESTS:
        out, closed = exchange(port, data)
        head, _, body = out.partition(b"\r\n\r\n")
        first = head.split(b"\r\n")[0]
        if not first.startswith(b"HTTP/1.1 %d " % status):
            failures.append(f"{name}: got {first!r}, want {status}")
            continue
        if b"<p>" not in body or b"</p>" not in body:
            failures.append(f"{name}: no reason in the body: {body!r}")
        if b"\r\nConnection: close" not in head:
            failures.append(f"{name}: no Connection: close")
        if not closed:
            failures.append(f"{name}: connection left open")
    time.sleep(0.3)  # anything sent upstream has arrived by now
    leaked = [d for d in be.received if d]
    assert not failures, "\n".join(failures)
    assert leaked == [], leaked
    # The backend does see a valid request: the test above could fail.
    out, _ = exchange(port, b"GET /fine HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 "), out
    assert be.got.wait(2) and b"GET /fine HTTP/1.1\r\n" in be.bytes_received()


def test_absolute_form_and_expect_continue(guarded):
    be, port = guarded
    out, _ = exchange(port, b"GET http://a.test/abs?q=1 HTTP/1.1\r\nHost: a.test\r\n"
                      b"Connection: close\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 "), out
    assert be.got.wait(2)
    time.sleep(0.1)
    assert b"GET /abs?q=1 HTTP/1.1\r\n" in be.bytes_received()
    # Expect: 100-continue gets its interim answer before the body is sent.
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n"
              b"Connection: close\r\n\r\n")
    interim = s.recv(4096)
    assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), interim
    s.sendall(b"body")
    rest = interim[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
    while True:
        c = s.recv(4096)
        if not c:
            break
        rest += c
    s.close()
    assert rest.startswith(b"HTTP/1.1 200 "), rest
    time.sleep(0.1)
    got = be.bytes_received()
    assert b"POST /up HTTP/1.1\r\n" in got and b"expect" not in got.lower()


# name, raw upstream response. The client must get a 502 from the gateway and
# none of these bytes.
BAD_RESPONSES = [
    ("status_4_digits", b"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok"),
    ("status_2_digits", b"HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nok"),
    ("status_letters", b"HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok"),
    ("bad_protocol", b"HTTX/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    ("no_status_line", b"Content-Length: 2\r\n\r\nok"),
    ("http09_body", b"ok, just bytes\r\n\r\n"),
    ("cl_and_te", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"2\r\nok\r\n0\r\n\r\n"),
    ("two_cl", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!"),
    ("cl_not_digits", b"HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nok"),
    ("obs_fold", b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok"),
    ("nul_in_header", b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok"),
    ("space_before_colon", b"HTTP/1.1 200 OK\r\nX-A : a\r\nContent-Length: 2\r\n\r\nok"),
    ("bare_lf", b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok"),
    ("chunk_size_nonhex", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n"),
    ("chunk_size_0x", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\nok\r\n0\r\n\r\n"),
    ("chunk_size_overflow", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                            b"10000000000000000\r\nok\r\n0\r\n\r\n"),
    ("chunk_missing_crlf", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX0\r\n\r\n"),
    ("switching_unasked", b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          b"Connection: upgrade\r\n\r\nraw tunnel bytes"),
]


@pytest.mark.parametrize("name,answer", BAD_RESPONSES, ids=[c[0] for c in BAD_RESPONSES])
def test_invalid_upstream_response_is_502(procs, tmp_path, name, answer):
    be = RawBackend(lambda conn, data: conn.sendall(answer))
    _, port, _ = gateway_for(procs, tmp_path, be.port)
    out, closed = exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    be.close()
    assert out.startswith(b"HTTP/1.1 502 "), out
    body = out.partition(b"\r\n\r\n")[2]
    for leak in (b"ok\r\n", b"okX", b"raw tunnel", b"just bytes", b"X-A"):
        assert leak not in out, out
    assert b"<p>" in body


def test_upgrade_only_on_101(procs, tmp_path):
    # A 200 to an Upgrade request is an ordinary response: no tunnel opens.
    be = RawBackend(lambda conn, data: conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nUpgrade: websocket\r\n\r\nok"))
    _, port, _ = gateway_for(procs, tmp_path, be.port)
    out, _ = exchange(port, b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                      b"Connection: upgrade\r\n\r\n", limit=2)
    be.close()
    assert out.startswith(b"HTTP/1.1 200 "), out
    head, _, body = out.partition(b"\r\n\r\n")
    assert body == b"ok" and b"upgrade" not in head.lower(), out


def _dies_mid_body(answer):
    def run(conn, data):
        conn.sendall(answer)
        time.sleep(0.1)
        conn.shutdown(socket.SHUT_RDWR)
    return run


def test_upstream_dying_mid_body_truncates_content_length(procs, tmp_path):
    be = RawBackend(_dies_mid_body(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" +
                                   b"a" * 5000))
    _, port, _ = gateway_for(procs, tmp_path, be.port)
    out, closed = exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    be.close()
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and b"Content-Length: 100000" in head
    assert closed and body == b"a" * 5000, (closed, len(body))


def test_upstream_dying_mid_body_truncates_chunked(procs, tmp_path):
    be = RawBackend(_dies_mid_body(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                   b"1000\r\n" + b"b" * 4096 + b"\r\n800\r\n" + b"c" * 100))
    _, port, _ = gateway_for(procs, tmp_path, be.port)
    out, closed = exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    be.close()
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and b"chunked" in head.lower()
    assert closed and b"b" * 4096 in body
    assert not body.endswith(b"0\r\n\r\n"), body[-40:]  # no final chunk invented


def test_header_deadline_one_byte_per_second(procs, tmp_path):
    be = RawBackend()
    _, port, _ = gateway_for(procs, tmp_path, be.port, server_extra="client_header_timeout 2s;")
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    t0 = time.time()
    closed = None
    for ch in b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10:
        try:
            s.sendall(bytes([ch]))
            s.settimeout(1.0)
            if s.recv(4096) == b"":
                closed = time.time() - t0
                break
        except socket.timeout:
            continue
        except OSError:
            closed = time.time() - t0
            break
    s.close()
    be.close()
    assert closed is not None and 1.8 < closed < 3.5, closed
    assert be.received == []


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_worker_connections_cap_pauses_accepting(procs, tmp_path):
    be = RawBackend()
    body = f"""
        upstream app {{ server 127.0.0.1:{be.port}; }}
        server {{ listen 127.0.0.1:{{port}}; client_header_timeout 30s;
                  location / {{ proxy_pass http://app; }} }}"""
    from conftest import JERN, free_port, wait_port
    port = free_port()
    conf = tmp_path / "cap.conf"
    conf.write_text("worker_processes 1;\nevents { worker_connections 8; }\n"
                    f"http {{\n{body.replace('{port}', str(port))}\n}}\n")
    p = procs.start([JERN, "gateway", "-c", conf], name="jern-cap")
    wait_port(port)  # that probe connection is closed again at once
    time.sleep(0.2)
    held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(8)]
    for h in held:
        h.sendall(b"G")  # a head started: not an idle connection
    time.sleep(0.3)
    extra = socket.create_connection(("127.0.0.1", port), timeout=5)  # the kernel queues it
    extra.sendall(b"GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    cpu0 = proc_cpu_seconds(p.pid)
    extra.settimeout(1.5)
    with pytest.raises(socket.timeout):
        extra.recv(4096)  # not accepted while at the cap
    cpu = proc_cpu_seconds(p.pid) - cpu0
    assert cpu < 0.3, f"{cpu:.2f} s of CPU while paused: a busy loop"
    held.pop().close()  # below the cap: accepting resumes
    extra.settimeout(5)
    out = extra.recv(4096)
    assert out.startswith(b"HTTP/1.1 200 "), out
    extra.close()
    for h in held:
        h.close()
    be.close()


def test_slowloris_does_not_starve_normal_clients(procs, tmp_path):
    """1,000 connections drip a header line each second (never finishing their
    heads) while a normal client keeps sending requests; every normal request
    must be answered."""
    be = RawBackend()
    _, port, _ = gateway_for(procs, tmp_path, be.port, server_extra="client_header_timeout 10s;")
    slow = []
    for _ in range(1000):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        slow.append(s)
    time.sleep(0.5)
    for s in slow:
        try:
            s.send(b"GET / HTTP/1.1\r\nHost: x\r\n")
        except OSError:
            pass
    stop = threading.Event()

    def drip():
        i = 0
        while not stop.wait(1.0):
            i += 1
            for s in slow:
                try:
                    s.send(b"X-%d: a\r\n" % i)
                except OSError:
                    pass

    t = threading.Thread(target=drip, daemon=True)
    t.start()
    ok = failed = 0
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            out, _ = exchange(port, b"GET /n HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                              limit=2)
            if out.startswith(b"HTTP/1.1 200 "):
                ok += 1
            else:
                failed += 1
        except OSError:
            failed += 1
    stop.set()
    t.join()
    alive = 0
    for s in slow:
        try:
            s.send(b"X: a\r\n")
            alive += 1
        except OSError:
            pass
        s.close()
    be.close()
    print(f"slowloris: 1000 slow connections ({alive} still open at the end), "
          f"normal requests: {ok} answered, {failed} failed")
    assert alive >= 900  # the attack really held its connections
    assert ok >= 20 and failed == 0, (ok, failed)


def test_content_length_named_in_connection_still_frames_the_body(guarded):
    """A client naming Content-Length in Connection must not make the gateway
    drop it while forwarding the body: the body would reach the backend as a
    second, unchecked request (smuggling)."""
    be, port = guarded
    smuggled = b"GET /admin HTTP/1.1\r\nHost: x\r\n\r\n"
    data = (b"POST / HTTP/1.1\r\nHost: x\r\nConnection: content-length, close\r\n"
            b"Content-Length: %d\r\n\r\n" % len(smuggled)) + smuggled
    out, _ = exchange(port, data)
    assert out.startswith(b"HTTP/1.1 200 "), out
    assert be.got.wait(2)
    head = be.bytes_received()
    assert b"\r\nContent-Length: %d\r\n" % len(smuggled) in head, head


def test_upstream_error_answer_is_relayed_when_no_retry_is_allowed(procs, tmp_path):
    """With http_503 in proxy_next_upstream but its timeout spent, the
    upstream's own 503 (its Retry-After, its body) reaches the client, not a
    page of jern's."""
    def slow_503(conn, data):
        time.sleep(0.05)
        conn.sendall(b"HTTP/1.1 503 Busy\r\nRetry-After: 120\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 16\r\nConnection: close\r\n\r\n{\"error\":\"busy\"}")
    a, b = RawBackend(slow_503), RawBackend(slow_503)
    try:
        _, port, _ = start_gateway(procs, tmp_path, f"""
            upstream app {{ server 127.0.0.1:{a.port}; server 127.0.0.1:{b.port}; }}
            server {{ listen 127.0.0.1:{{port}};
                      location / {{ proxy_pass http://app;
                                    proxy_next_upstream error timeout http_503;
                                    proxy_next_upstream_timeout 10ms; }} }}""")
        out, _ = exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 503 "), out
        assert b"\r\nRetry-After: 120\r\n" in out, out
        assert out.endswith(b'{"error":"busy"}'), out
    finally:
        a.close()
        b.close()
