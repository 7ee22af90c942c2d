"""Sends set aside until the end of the worker's batch of events
(src/gateway/batch.c): under many concurrent connections every response
still reaches the client that asked, in order, whole, for plain, pipelined
and body-carrying requests, on one worker so the batches are large."""
import socket
import subprocess
import threading
import time

from conftest import syscall_counts
from test_gateway import simple_proxy

CONNS = 48
ROUNDS = 25


def read_response(s, buf):
    """One HTTP/1.1 response with Content-Length from s; returns (head,
    body, rest of buf)."""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        assert chunk, "connection closed mid-head"
        buf += chunk
    head, _, buf = buf.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(buf) < length:
        chunk = s.recv(65536)
        assert chunk, "connection closed mid-body"
        buf += chunk
    return head, buf[:length], buf[length:]


def client(port, k, errors):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        buf = b""
        for i in range(ROUNDS):
            tag = f"c{k}-r{i}"
            if i % 3 == 0:  # three pipelined requests at once
                reqs = [f"GET /headers HTTP/1.1\r\nHost: x\r\nX-Seq: {tag}-{j}\r\n\r\n"
                        for j in range(3)]
                s.sendall("".join(reqs).encode())
                for j in range(3):
                    head, body, buf = read_response(s, buf)
                    assert head.startswith(b"HTTP/1.1 200"), head
                    assert f"x-seq: {tag}-{j}\r\n".encode() in body.lower(), (tag, j, body)
            elif i % 3 == 1:  # a body, echoed
                payload = (tag * 200).encode()
                s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                          % len(payload) + payload)
                head, body, buf = read_response(s, buf)
                assert head.startswith(b"HTTP/1.1 200") and body == payload, (tag, head)
            else:
                s.sendall(f"GET /headers HTTP/1.1\r\nHost: x\r\nX-Seq: {tag}\r\n\r\n".encode())
                head, body, buf = read_response(s, buf)
                assert f"x-seq: {tag}\r\n".encode() in body.lower(), (tag, body)
        s.close()
    except Exception as e:  # collected: an assert in a thread is not a failure
        errors.append(f"connection {k}: {e!r}")


def test_concurrent_exchanges_each_get_their_own_answer(procs, tmp_path, testapp):
    a, b = testapp("a"), testapp("b")
    _, port, _ = simple_proxy(procs, tmp_path, [a, b], upstream_extra="keepalive 16;")
    errors = []
    threads = [threading.Thread(target=client, args=(port, k, errors)) for k in range(CONNS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a client hung"
    assert not errors, errors[:5]


def leaver(port, k, stop):
    """Sends requests and leaves before their answers, every other time with a
    reset (SO_LINGER 0): clients gone in the same batches in which other
    requests wait for an upstream connection at the batch's end."""
    i = 0
    while not stop.is_set():
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        if i % 2:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.sendall(f"GET /headers HTTP/1.1\r\nHost: x\r\nX-Seq: leaver{k}-{i}\r\n\r\n".encode())
        s.close()
        i += 1


def upstream_conns(pid, ports):
    """Established TCP connections of process pid to any of ports (ss -tnp)."""
    out = subprocess.run(["ss", "-tnpH", "state", "established"], capture_output=True,
                         text=True).stdout
    return sum(1 for line in out.splitlines()
               if f"pid={pid}," in line
               and any(line.split()[3].endswith(f":{p}") for p in ports))


def test_clients_that_leave_mid_request_do_not_disturb_the_others(procs, tmp_path, testapp):
    """A pool much smaller than the load (keepalive 2), so requests keep
    finding no idle connection within a batch and connect at its end
    (src/gateway/proxy.c), while other clients leave mid-request: the staying
    clients each get their own whole answers, the gateway serves on, and at
    rest the pool is back within its bound."""
    a, b = testapp("a"), testapp("b")
    proc, port, _ = simple_proxy(procs, tmp_path, [a, b], upstream_extra="keepalive 2;")
    errors, stop = [], threading.Event()
    leavers = [threading.Thread(target=leaver, args=(port, k, stop)) for k in range(8)]
    stayers = [threading.Thread(target=client, args=(port, k, errors)) for k in range(24)]
    for t in leavers + stayers:
        t.start()
    for t in stayers:
        t.join(60)
    stop.set()
    for t in leavers:
        t.join(20)
    assert not any(t.is_alive() for t in stayers + leavers), "a client hung"
    assert not errors, errors[:5]
    assert proc.alive(), "the gateway exited: " + proc.output()[-2000:]
    # A last burst that stays to the end (the leavers' aborted exchanges close
    # their upstream connections): at rest the pool holds its bound, keepalive
    # 2 idle connections, and is not empty.
    burst = [threading.Thread(target=client, args=(port, 100 + k, errors)) for k in range(16)]
    for t in burst:
        t.start()
    for t in burst:
        t.join(60)
    assert not errors, errors[:5]
    deadline = time.time() + 5
    while upstream_conns(proc.pid, (a, b)) > 2 and time.time() < deadline:
        time.sleep(0.05)
    assert 1 <= upstream_conns(proc.pid, (a, b)) <= 2
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /headers HTTP/1.1\r\nHost: x\r\nX-Seq: after\r\n\r\n")
    head, body, _ = read_response(s, b"")
    assert head.startswith(b"HTTP/1.1 200") and b"x-seq: after\r\n" in body.lower(), head
    s.close()


def load_gateway(procs, tmp_path, testapp, env, tls=False):
    """A one-worker gateway in front of one test app, started with env,
    over TLS when asked: (process, base URL)."""
    import test_gateway
    a = testapp("a")
    conf = tmp_path / f"u-{len(env)}-{int(tls)}.conf"
    port = test_gateway.free_port()
    ssl = ""
    if tls:
        from test_gateway_tls import make_cert
        crt, key = make_cert(tmp_path, "batch.test")
        ssl = f" ssl; ssl_certificate {crt}; ssl_certificate_key {key}"
    conf.write_text("worker_processes 1;\nevents { worker_connections 20000; }\n"
                    f"http {{ upstream app {{ server 127.0.0.1:{a}; keepalive 64; }}\n"
                    f"server {{ listen 127.0.0.1:{port}{ssl}; access_log off;\n"
                    "location / { proxy_pass http://app; } } }\n")
    p = procs.start([test_gateway.JERN, "gateway", "-c", conf],
                    name=f"jern-{len(env)}-{int(tls)}", env=env)
    test_gateway.wait_port(port)
    return p, f"{'https' if tls else 'http'}://127.0.0.1:{port}"


def wrk(url, seconds=2):
    """wrk -c50 against url; its own errors fail the test."""
    out = subprocess.run(["wrk", "-t2", "-c50", f"-d{seconds}s", url], capture_output=True,
                         text=True, timeout=seconds + 30)
    assert "Non-2xx" not in out.stdout and "Socket errors" not in out.stdout, out.stdout
    return out.stdout


def traced_load(procs, tmp_path, testapp, env, tls=False):
    """wrk -c50 for 2 s through a gateway started with env, under strace -c:
    the gateway's count of each system call. wrk's own errors fail the test."""
    p, url = load_gateway(procs, tmp_path, testapp, env, tls)
    calls, _ = syscall_counts(p.pid, tmp_path / f"strace-{len(env)}-{int(tls)}.txt",
                              lambda: wrk(url + "/"))
    return calls


def test_a_batchs_sends_leave_in_one_io_uring_submission(procs, tmp_path, testapp):
    """Under load the sends of a batch go out through io_uring (batch_send.c):
    the gateway makes almost no send system calls, one io_uring_enter per
    batch; with JERN_URING=0 every send is its own system call again."""
    on = traced_load(procs, tmp_path, testapp, {})
    sends = on.get("sendto", 0) + on.get("sendmsg", 0)
    assert on.get("recvfrom", 0) > 2000, on
    assert on.get("io_uring_enter", 0) > 0, on
    assert sends < on["recvfrom"] / 10, on
    off = traced_load(procs, tmp_path, testapp, {"JERN_URING": "0"})
    assert off.get("io_uring_enter", 0) == 0, off
    assert off.get("sendto", 0) + off.get("sendmsg", 0) > off.get("recvfrom", 0) / 3, off


def test_tls_records_are_sealed_and_leave_with_the_batch(procs, tmp_path, testapp):
    """Over TLS the records of a batch's responses are made ahead
    (jn_tls_seal) and sent in the same io_uring submission as the upstream
    sends: the gateway makes almost no send system calls."""
    on = traced_load(procs, tmp_path, testapp, {}, tls=True)
    sends = on.get("sendto", 0) + on.get("sendmsg", 0)
    assert on.get("recvfrom", 0) > 2000, on
    assert on.get("io_uring_enter", 0) > 0, on
    assert sends < on["recvfrom"] / 10, on


PATTERN = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def test_sealed_tls_responses_arrive_whole_under_load(procs, tmp_path, testapp):
    """While wrk keeps the worker's batches full, keep-alive clients over TLS
    fetch bodies around the size sealed at once (one record), far larger
    ones (sealed head, the rest written through OpenSSL behind it) and
    chunked ones: every byte arrives, in order, and the stream stays valid."""
    import ssl
    p, url = load_gateway(procs, tmp_path, testapp, {}, tls=True)
    port = int(url.rsplit(":", 1)[1])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    sizes = [0, 1, 100, 15871, 15872, 15873, 16384, 40000, 300000]
    errors = []

    def fetcher(k):
        try:
            raw = socket.create_connection(("127.0.0.1", port), timeout=20)
            s = ctx.wrap_socket(raw, server_hostname="batch.test")
            buf = b""
            for i in range(12):
                n = sizes[(k + i) % len(sizes)]
                s.sendall(f"GET /big?bytes={n} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                head, body, buf = read_response(s, buf)
                want = (PATTERN * (n // len(PATTERN) + 1))[:n]
                assert head.startswith(b"HTTP/1.1 200") and body == want, (k, i, n, head)
            s.close()
        except Exception as e:  # collected: an assert in a thread is not a failure
            errors.append(f"client {k}: {e!r}")

    load = threading.Thread(target=wrk, args=(url + "/", 4))
    load.start()
    time.sleep(0.5)
    threads = [threading.Thread(target=fetcher, args=(k,)) for k in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    load.join(60)
    assert not any(t.is_alive() for t in threads), "a client hung"
    assert not errors, errors[:5]
    assert p.alive(), p.output()[-2000:]


def test_sealed_records_wait_for_a_client_that_does_not_read(procs, tmp_path, testapp):
    """A TLS client with a small receive buffer pipelines 40 requests and
    reads nothing for a while, under load: its responses are sealed in
    batches and its socket fills in the middle of their records. When it
    reads at last, every response is there, whole and in order."""
    import ssl
    p, url = load_gateway(procs, tmp_path, testapp, {}, tls=True)
    port = int(url.rsplit(":", 1)[1])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    load = threading.Thread(target=wrk, args=(url + "/", 4))
    load.start()
    time.sleep(0.5)
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.settimeout(20)
    raw.connect(("127.0.0.1", port))
    s = ctx.wrap_socket(raw, server_hostname="batch.test")
    sizes = [12000 + 7 * i for i in range(40)]
    s.sendall(b"".join(f"GET /big?bytes={n} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
                       for n in sizes))
    time.sleep(1.5)
    buf = b""
    for n in sizes:
        head, body, buf = read_response(s, buf)
        want = (PATTERN * (n // len(PATTERN) + 1))[:n]
        assert head.startswith(b"HTTP/1.1 200") and body == want, (n, head)
    s.close()
    load.join(60)
    assert p.alive(), p.output()[-2000:]
