"""The gateway, black-box: build/asan/jern in front of real backends on loopback.
Basic proxying, -t, local answers, errors. Helpers here are shared by the other
test_gateway_*.py files."""
import re
import socket
import subprocess
import time

import requests

from conftest import JERN, free_port, raw, wait_port
from rawbackend import RawBackend


def start_gateway(procs, tmp_path, body, name="jern", workers=1, head="", port=None):
    """Writes a config whose http block is `body` (use {port} for the listen
    port) and starts `jern gateway -c` on it. Returns (proc, port, conf path)."""
    port = port or free_port()
    conf = tmp_path / f"{name}.conf"
    conf.write_text(f"worker_processes {workers};\nevents {{ worker_connections 20000; }}\n{head}\n"
                    f"http {{\n{body.replace('{port}', str(port))}\n}}\n")
    p = procs.start([JERN, "gateway", "-c", conf], name=name)
    wait_port(port)
    return p, port, conf


def simple_proxy(procs, tmp_path, backends, upstream_extra="", loc_extra="", server_extra=""):
    servers = "".join(f"server 127.0.0.1:{b};\n" for b in backends)
    return start_gateway(procs, tmp_path, f"""
        upstream app {{ {servers} {upstream_extra} }}
        server {{ listen 127.0.0.1:{{port}}; {server_extra}
                  location / {{ proxy_pass http://app; {loc_extra} }} }}""")


def test_get_through_upstream(procs, tmp_path, testapp):
    a = testapp("a")
    _, port, _ = simple_proxy(procs, tmp_path, [a])
    r = requests.get(f"http://127.0.0.1:{port}/", timeout=5)
    assert r.status_code == 200
    assert r.text.startswith("hello from a")
    assert int(r.headers["Content-Length"]) == len(r.content)


def test_post_body_echo_and_headers_rewritten(procs, tmp_path, testapp):
    a = testapp("a")
    _, port, _ = simple_proxy(procs, tmp_path, [a], loc_extra="proxy_set_header X-Real-IP $remote_addr;"
                              " proxy_set_header X-Drop '';")
    r = requests.post(f"http://127.0.0.1:{port}/echo", data=b"x" * 100000, timeout=5)
    assert r.status_code == 200 and r.content == b"x" * 100000
    r = requests.get(f"http://127.0.0.1:{port}/headers", timeout=5,
                     headers={"X-Drop": "1", "Keep-Alive": "300", "X-Custom": "yes",
                              "Connection": "keep-alive, X-Hop", "X-Hop": "secret"})
    head = r.text
    assert head.startswith("GET /headers HTTP/1.1\r\n")
    assert re.search(r"(?im)^host: app\r$", head), head  # default Host $proxy_host
    assert re.search(r"(?im)^connection: close\r$", head)  # no pool: close, as nginx
    assert re.search(r"(?im)^x-real-ip: 127\.0\.0\.1\r$", head)
    assert re.search(r"(?im)^x-custom: yes\r$", head)
    for gone in ("x-drop", "keep-alive", "x-hop"):
        assert not re.search(rf"(?im)^{gone}:", head), (gone, head)


def test_response_headers_named_in_connection_are_dropped(procs, tmp_path):
    """An upstream's Connection names hop-by-hop headers of its own: they stop
    at jern (RFC 9110 7.6.1), whether or not other options come with them."""
    heads = iter([b"Connection: keep-alive, X-Up-Hop\r\nX-Up-Hop: secret\r\n",
                  b"Connection: X-Up-Hop\r\nX-Up-Hop: secret\r\nKeep-Alive: timeout=5\r\n",
                  b"Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n"])
    be = RawBackend(lambda conn, data: conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Kept: yes\r\n" + next(heads) + b"\r\nok"))
    _, port, _ = simple_proxy(procs, tmp_path, [be.port])
    try:
        for _ in range(3):
            r = requests.get(f"http://127.0.0.1:{port}/", timeout=5,
                             headers={"Connection": "close"})
            assert r.status_code == 200 and r.text == "ok"
            assert r.headers.get("X-Kept") == "yes"
            assert "X-Up-Hop" not in r.headers and "Keep-Alive" not in r.headers, r.headers
    finally:
        be.close()


def test_proxy_pass_uri_replaces_prefix(procs, tmp_path, testapp):
    a = testapp("a")
    _, port, _ = start_gateway(procs, tmp_path, f"""
        server {{ listen 127.0.0.1:{{port}};
          location /api/ {{ proxy_pass http://127.0.0.1:{a}/; }}
          location = /exact {{ return 200 "exact\\n"; }}
          location /old {{ return 301 http://example.com/new; }}
        }}""")
    r = requests.get(f"http://127.0.0.1:{port}/api/headers?x=1", timeout=5)
    assert r.text.startswith("GET /headers?x=1 HTTP/1.1\r\n"), r.text
    assert re.search(rf"(?im)^host: 127\.0\.0\.1:{a}\r$", r.text)
    r = requests.get(f"http://127.0.0.1:{port}/exact", timeout=5)
    assert r.status_code == 200 and r.text == "exact\n"
    r = requests.get(f"http://127.0.0.1:{port}/old", timeout=5, allow_redirects=False)
    assert r.status_code == 301 and r.headers["Location"] == "http://example.com/new"
    r = requests.get(f"http://127.0.0.1:{port}/nothing-here", timeout=5)
    assert r.status_code == 404


def test_server_name_routing(procs, tmp_path, testapp):
    a, b, c = testapp("a"), testapp("b"), testapp("c")
    _, port, _ = start_gateway(procs, tmp_path, f"""
        server {{ listen 127.0.0.1:{{port}}; server_name a.test;
                  location / {{ proxy_pass http://127.0.0.1:{a}; }} }}
        server {{ listen 127.0.0.1:{{port}} default_server; server_name *.wild.test;
                  location / {{ proxy_pass http://127.0.0.1:{b}; }} }}
        server {{ listen 127.0.0.1:{{port}}; server_name .dot.test;
                  location / {{ proxy_pass http://127.0.0.1:{c}; }} }}""")

    def who(host):
        return requests.get(f"http://127.0.0.1:{port}/", headers={"Host": host}, timeout=5).text.split()[2]

    assert who("a.test") == "a"
    assert who("A.TEST:80") == "a"
    assert who("x.wild.test") == "b"
    assert who("dot.test") == "c" and who("y.dot.test") == "c"
    assert who("unknown.test") == "b"  # default_server


def test_config_check_good_and_bad(tmp_path):
    good = tmp_path / "good.conf"
    good.write_text("events {}\nhttp { server { listen 127.0.0.1:1; location / { return 200; } } }\n")
    r = subprocess.run([JERN, "gateway", "-t", "-c", good], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    assert f"configuration file {good} test is successful" in r.stderr
    bad = tmp_path / "bad.conf"
    bad.write_text("events {}\nhttp {\n upstream u { least_con; server 127.0.0.1:1; }\n}\n")
    r = subprocess.run([JERN, "gateway", "-t", "-c", bad], capture_output=True, text=True, timeout=10)
    assert r.returncode == 1
    assert f"{bad}:3:" in r.stderr and "least_conn" in r.stderr, r.stderr
    missing = tmp_path / "missing.conf"
    missing.write_text("events {}\nhttp { server { listen 127.0.0.1:1;\n"
                       " location / { proxy_pass http://nowhere; } } }\n")
    r = subprocess.run([JERN, "gateway", "-t", "-c", missing], capture_output=True, text=True, timeout=10)
    assert r.returncode == 1 and f"{missing}:" in r.stderr and "nowhere" in r.stderr, r.stderr


def test_seed_config_runs_unchanged(procs, tmp_path, testapp):
    """Pattern 1 of the seed with loopback addresses: least_conn, WebSocket headers."""
    from pathlib import Path
    seed = (Path(__file__).resolve().parents[1] / "data" / "seed.conf").read_text()
    a, b = testapp("a"), testapp("b")
    port = free_port()
    seed = seed.replace("127.0.0.1:18080", f"127.0.0.1:{a}").replace("127.0.0.1:18081", f"127.0.0.1:{b}")
    seed = seed.replace("listen 80;", f"listen 127.0.0.1:{port};")
    conf = tmp_path / "seed.conf"
    conf.write_text(seed)
    r = subprocess.run([JERN, "gateway", "-t", "-c", conf], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    procs.start([JERN, "gateway", "-c", conf], name="seed")
    wait_port(port)
    seen = set()
    with requests.Session() as s:
        for _ in range(10):
            r = s.get(f"http://127.0.0.1:{port}/", headers={"Host": "api.yourdomain.no"}, timeout=5)
            assert r.status_code == 200
            seen.add(r.text.split()[2])
        r = s.get(f"http://127.0.0.1:{port}/headers", headers={"Host": "api.yourdomain.no"}, timeout=5)
        assert re.search(r"(?im)^host: api\.yourdomain\.no\r$", r.text)
        assert re.search(r"(?im)^connection: upgrade\r$", r.text)
        assert not re.search(r"(?im)^upgrade:", r.text)  # $http_upgrade empty: not sent
    assert seen == {"a", "b"}


def test_dead_backend_is_502_and_timeout_is_504(procs, tmp_path, testapp):
    dead = free_port()
    a = testapp("a")
    _, port, _ = start_gateway(procs, tmp_path, f"""
        server {{ listen 127.0.0.1:{{port}};
          location /dead {{ proxy_pass http://127.0.0.1:{dead}; }}
          location /slow {{ proxy_pass http://127.0.0.1:{a}; proxy_read_timeout 300ms; }}
        }}""")
    r = requests.get(f"http://127.0.0.1:{port}/dead", timeout=5)
    assert r.status_code == 502 and "502" in r.text
    t = time.time()
    r = requests.get(f"http://127.0.0.1:{port}/slow?ms=3000", timeout=5)
    assert r.status_code == 504 and time.time() - t < 2.5


def test_bad_request_gets_400_and_close(procs, tmp_path, testapp):
    a = testapp("a")
    _, port, _ = simple_proxy(procs, tmp_path, [a])
    out = raw(port, b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 "), out
    assert b"Connection: close" in out
    out = raw(port, b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"y" * 40000 + b"\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 431 "), out[:100]


def test_expect_continue_answered_and_body_size_capped(procs, tmp_path, testapp):
    a = testapp("a")
    _, port, _ = simple_proxy(procs, tmp_path, [a], server_extra="client_max_body_size 1k;")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"POST /headers HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        first = s.recv(100)
        assert first == b"HTTP/1.1 100 Continue\r\n\r\n", first
        s.sendall(b"abcd")
        out = b""
        while b"\r\n\r\n" not in out.split(b"\r\n\r\n", 1)[-1] and len(out) < 100000:
            c = s.recv(65536)
            if not c:
                break
            out += c
        assert out.startswith(b"HTTP/1.1 200 ")
        assert b"xpect" not in out  # answered here, not forwarded
    out = raw(port, b"POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 413 "), out[:200]
    chunk = b"%x\r\n" % 3000 + b"z" * 3000 + b"\r\n0\r\n\r\n"
    out = raw(port, b"POST /sink HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk)
    assert out.startswith(b"HTTP/1.1 413 "), out[:200]


def test_large_head_within_limits_is_proxied(procs, tmp_path, testapp):
    """Heads past the usual 16 KiB buffer move to a bigger one (up to
    large_client_header_buffers); the upstream sees every byte."""
    a = testapp("a")
    _, port, _ = simple_proxy(procs, tmp_path, [a])
    big = "v" * 7000
    r = requests.get(f"http://127.0.0.1:{port}/headers", timeout=5,
                     headers={"X-A": big, "X-B": big, "X-C": big})
    assert r.status_code == 200
    assert r.text.count(big) == 3


def test_mutated_requests_never_crash_it(procs, tmp_path, testapp):
    """Random mutations of valid requests (fixed seed, bounded in time): every
    connection ends, and the gateway still answers afterwards."""
    import random
    a = testapp("a")
    p, port, _ = simple_proxy(procs, tmp_path, [a], upstream_extra="keepalive 4;",
                              server_extra="client_header_timeout 500ms; client_body_timeout 500ms;"
                                           " keepalive_timeout 300ms;",
                              loc_extra="proxy_read_timeout 500ms; proxy_set_header Upgrade $http_upgrade;"
                                        " proxy_set_header Connection $http_connection;")
    rnd = random.Random(1234)
    base = [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
            b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            b"GET /chunked?n=3&size=10 HTTP/1.0\r\n\r\n", b"HEAD /big?bytes=10 HTTP/1.1\r\nHost: x\r\n\r\n"]
    junk = [b"\r\n", b":", b" ", b"0\r\n\r\n", b"ffffffffffffffffff\r\n", b"Content-Length: 3\r\n", b"\n", b"\x00"]
    deadline = time.time() + 15
    for _ in range(400):
        if time.time() > deadline:
            break
        m = bytearray(b"".join(rnd.choice(base) for _ in range(rnd.randint(1, 3))))
        for _ in range(rnd.randint(0, 6)):
            op, at = rnd.random(), rnd.randrange(len(m) + 1)
            if op < 0.3:
                del m[at:at + rnd.randint(1, 5)]
            elif op < 0.6:
                m[at:at] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 4)))
            else:
                m[at:at] = rnd.choice(junk)
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            s.sendall(bytes(m))
            if rnd.random() < 0.5:
                s.shutdown(socket.SHUT_WR)
            s.settimeout(3)
            try:
                while s.recv(65536):
                    pass
            except (socket.timeout, ConnectionResetError):
                pass
    assert p.alive()
    assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
    assert "AddressSanitizer" not in p.output() and "runtime error" not in p.output()


def test_return_evaluates_variables(procs, tmp_path):
    """nginx's most common redirect: return 301 https://$host$request_uri."""
    _, port, conf = start_gateway(procs, tmp_path, """
        server { listen 127.0.0.1:{port};
                 location /old { return 301 https://$host$request_uri; }
                 location /hi { return 200 "hi $remote_addr"; }
                 location / { return 404; } }""")
    r = requests.get(f"http://127.0.0.1:{port}/old/page?a=1", headers={"Host": "Shop.Example"},
                     allow_redirects=False, timeout=5)
    assert r.status_code == 301
    assert r.headers["Location"] == "https://shop.example/old/page?a=1"
    r = requests.get(f"http://127.0.0.1:{port}/hi", timeout=5)
    assert r.status_code == 200 and r.text == "hi 127.0.0.1"
    conf.write_text(conf.read_text().replace("$remote_addr", "$remote_adr"))
    t = subprocess.run([JERN, "gateway", "-t", "-c", conf], capture_output=True, text=True,
                       timeout=10)
    assert t.returncode == 1 and "return: unknown variable" in t.stderr, t.stderr
