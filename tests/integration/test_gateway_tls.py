"""TLS termination in `jern gateway`: certificates made with the openssl
command at test time, real clients (curl, openssl s_client, Python's ssl),
real backends. SNI, the default certificate and ssl_reject_handshake, RSA and
ECDSA side by side, old protocols, garbage, stalled handshakes,
renegotiation, resumption across workers, HUP swapping a certificate under
load, and the $https/$ssl_* variables."""
import signal
import socket
import ssl
import subprocess
import threading
import time

import pytest

from conftest import JERN, free_port, have
from jerndaemon import Daemon
from rawbackend import RawBackend
from test_gateway import start_gateway

pytestmark = pytest.mark.skipif(not have("openssl"), reason="openssl not installed")


def make_cert(d, name, kind="ec", serial=None):
    """A self-signed certificate for name (SAN) in d: (cert path, key path)."""
    crt, key = d / f"{name}-{kind}.crt", d / f"{name}-{kind}.key"
    newkey = (["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if kind == "ec"
              else ["-newkey", "rsa:2048"])
    cmd = ["openssl", "req", "-x509", *newkey, "-nodes", "-keyout", str(key), "-out", str(crt),
           "-days", "2", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}"]
    if serial is not None:
        cmd += ["-set_serial", str(serial)]
    subprocess.run(cmd, check=True, capture_output=True)
    return crt, key


def client_ctx(cafile=None):
    ctx = ssl.create_default_context(cafile=str(cafile)) if cafile else ssl.SSLContext(
        ssl.PROTOCOL_TLS_CLIENT)
    if not cafile:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def https_get(port, name, ctx, path="/", session=None):
    """One GET over a new TLS connection. Returns (status, body, ssl socket info)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=name, session=session) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            status = int(head.split()[1])
            return status, body.decode(), s.session_reused, s.session, s.getpeercert(True)


def peer_cn(port, name):
    """The CN of the certificate the server presents for SNI name (no verification)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with client_ctx().wrap_socket(raw, server_hostname=name) as s:
            der = s.getpeercert(True)
    pem = ssl.DER_cert_to_PEM_cert(der)
    out = subprocess.run(["openssl", "x509", "-noout", "-subject", "-serial"], input=pem,
                         capture_output=True, text=True, check=True).stdout
    return out


def s_client(port, *args, stdin=b"", timeout=10):
    return subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", *args],
                          input=stdin, capture_output=True, timeout=timeout)


def two_name_conf(tmp_path, backend, reject=False):
    a_crt, a_key = make_cert(tmp_path, "a.test")
    b_crt, b_key = make_cert(tmp_path, "b.test")
    default = ("ssl_reject_handshake on;" if reject else
               f"ssl_certificate {a_crt}; ssl_certificate_key {a_key};")
    body = f"""
        upstream be {{ server 127.0.0.1:{backend}; }}
        server {{ listen 127.0.0.1:{{port}} ssl default_server; server_name a.test;
                  {default} access_log off;
                  location / {{ proxy_pass http://be; }} }}
        server {{ listen 127.0.0.1:{{port}} ssl; server_name b.test; access_log off;
                  ssl_certificate {b_crt}; ssl_certificate_key {b_key};
                  location / {{ return 200 "b:$ssl_server_name"; }} }}"""
    return body, (a_crt, b_crt)


def test_https_200_through_the_proxy_with_curl(procs, tmp_path, testapp):
    app = testapp("a")
    body, (a_crt, _) = two_name_conf(tmp_path, app)
    _, port, _ = start_gateway(procs, tmp_path, body)
    out = subprocess.run(["curl", "-sS", "--cacert", str(a_crt), "--resolve",
                          f"a.test:{port}:127.0.0.1", f"https://a.test:{port}/", "-w",
                          "\n%{http_code}"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("hello from a")
    assert out.stdout.endswith("\n200")


def test_sni_picks_the_server_and_unknown_names_get_the_default(procs, tmp_path, testapp):
    app = testapp("a")
    body, (a_crt, b_crt) = two_name_conf(tmp_path, app)
    _, port, _ = start_gateway(procs, tmp_path, body)
    st, text, *_ = https_get(port, "b.test", client_ctx(b_crt))
    assert (st, text) == (200, "b:b.test")
    st, text, *_ = https_get(port, "a.test", client_ctx(a_crt))
    assert st == 200 and text.startswith("hello from a")
    assert "CN = a.test" in peer_cn(port, "unknown.test")
    # no SNI at all: the default server's certificate too
    r = s_client(port, "-noservername")
    assert b"CN = a.test" in r.stdout


def test_reject_handshake_alerts_unknown_names(procs, tmp_path):
    be = RawBackend()
    body, (_, b_crt) = two_name_conf(tmp_path, be.port, reject=True)
    _, port, _ = start_gateway(procs, tmp_path, body)
    with pytest.raises(ssl.SSLError, match="UNRECOGNIZED_NAME"):
        https_get(port, "unknown.test", client_ctx())
    with pytest.raises(ssl.SSLError, match="UNRECOGNIZED_NAME"):
        https_get(port, "a.test", client_ctx())  # the default server itself rejects
    st, text, *_ = https_get(port, "b.test", client_ctx(b_crt))
    assert (st, text) == (200, "b:b.test")
    assert be.received == []


def test_rsa_and_ecdsa_side_by_side_picked_by_sigalgs(procs, tmp_path):
    ec_crt, ec_key = make_cert(tmp_path, "both.test", "ec")
    rsa_crt, rsa_key = make_cert(tmp_path, "both.test", "rsa")
    _, port, _ = start_gateway(procs, tmp_path, f"""
        server {{ listen 127.0.0.1:{{port}} ssl; server_name both.test;
                  ssl_certificate {rsa_crt}; ssl_certificate_key {rsa_key};
                  ssl_certificate {ec_crt}; ssl_certificate_key {ec_key};
                  location / {{ return 200 ok; }} }}""")
    ec = s_client(port, "-servername", "both.test", "-sigalgs", "ecdsa_secp256r1_sha256")
    rsa = s_client(port, "-servername", "both.test", "-sigalgs", "rsa_pss_rsae_sha256")
    assert b"Peer signature type: ECDSA" in ec.stdout, ec.stdout[-800:]
    assert b"Peer signature type: RSA-PSS" in rsa.stdout, rsa.stdout[-800:]


@pytest.mark.parametrize("proto", ["-tls1", "-tls1_1"])
def test_old_protocols_refused_with_an_alert(procs, tmp_path, proto):
    be = RawBackend()
    body, _ = two_name_conf(tmp_path, be.port)
    _, port, _ = start_gateway(procs, tmp_path, body)
    # SECLEVEL=0: the client really offers the old version
    r = s_client(port, proto, "-cipher", "DEFAULT:@SECLEVEL=0", "-servername", "a.test",
                 stdin=b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
    assert b"alert protocol version" in r.stderr + r.stdout
    assert be.received == []


def test_garbage_and_stalled_handshakes_close_and_never_stall_the_worker(procs, tmp_path):
    be = RawBackend()
    body, (a_crt, _) = two_name_conf(tmp_path, be.port)
    body = body.replace("access_log off;", "access_log off; client_header_timeout 1s;", 1)
    _, port, _ = start_gateway(procs, tmp_path, body, workers=1)
    # plain HTTP to the TLS port: closed (with an alert or not), nothing proxied
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
        assert data == b"" or data[0] == 0x15  # nothing, or a TLS alert record
    # random bytes
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(bytes(range(256)) * 4)
        while s.recv(4096):
            pass
    # half a ClientHello, then silence: closed at the head deadline, while the
    # one worker keeps serving others
    stalled = socket.create_connection(("127.0.0.1", port), timeout=5)
    stalled.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
    silent = socket.create_connection(("127.0.0.1", port), timeout=5)
    assert be.received == []  # garbage reached no backend
    t0 = time.time()
    st, text, *_ = https_get(port, "a.test", client_ctx(a_crt))
    assert (st, text) == (200, "ok\n")
    st, text, *_ = https_get(port, "b.test", client_ctx())
    assert (st, text) == (200, "b:b.test")
    assert time.time() - t0 < 1.0
    for s in (stalled, silent):
        s.settimeout(5)
        assert s.recv(100) == b""
        s.close()
    waited = time.time() - t0
    assert 0.5 < waited < 4, waited


def test_renegotiation_is_refused(procs, tmp_path):
    be = RawBackend()
    body, _ = two_name_conf(tmp_path, be.port)
    _, port, _ = start_gateway(procs, tmp_path, body)
    # "R" asks s_client to renegotiate, then a request follows on the same connection
    p = subprocess.Popen(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_2",
                          "-servername", "a.test"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        time.sleep(0.5)
        p.stdin.write(b"R\n")
        p.stdin.flush()
        time.sleep(0.5)
        try:
            p.stdin.write(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
            p.stdin.flush()
        except BrokenPipeError:
            pass
        out, _ = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
    assert b"RENEGOTIATING" in out
    assert b"HTTP/1.1 200" not in out
    assert be.received == []


@pytest.mark.parametrize("mode", ["tickets", "cache"])
def test_session_resumption_across_workers(procs, tmp_path, mode):
    crt, key = make_cert(tmp_path, "r.test")
    extra = "" if mode == "tickets" else "ssl_session_tickets off; ssl_session_cache shared:SSL:1m;"
    _, port, _ = start_gateway(procs, tmp_path, f"""
        server {{ listen 127.0.0.1:{{port}} ssl; server_name r.test; {extra}
                  ssl_certificate {crt}; ssl_certificate_key {key};
                  location / {{ return 200 "$ssl_protocol"; }} }}""", workers=4)
    ctx = client_ctx(crt)
    st, _, reused, sess, _ = https_get(port, "r.test", ctx)
    assert st == 200 and not reused
    # SO_REUSEPORT spreads new connections over the 4 workers by source port:
    # every one of 12 must resume, whichever worker made the session
    results = [https_get(port, "r.test", ctx, session=sess)[2] for _ in range(12)]
    assert all(results), results


def test_hup_swaps_the_certificate_under_load_without_failures(procs, tmp_path, testapp):
    app = testapp("a")
    crt, key = make_cert(tmp_path, "h.test", serial=1111)
    p, port, conf = start_gateway(procs, tmp_path, f"""
        upstream be {{ server 127.0.0.1:{app}; keepalive 8; }}
        server {{ listen 127.0.0.1:{{port}} ssl; server_name h.test; access_log off;
                  ssl_certificate {crt}; ssl_certificate_key {key};
                  location / {{ proxy_pass http://be; }} }}""", workers=2)
    assert "serial=0457" in peer_cn(port, "h.test")  # 1111
    stop = threading.Event()
    counts = {"ok": 0, "fail": 0}

    def loop():
        ctx = client_ctx()
        while not stop.is_set():
            try:
                st = https_get(port, "h.test", ctx)[0]
                counts["ok" if st == 200 else "fail"] += 1
            except Exception:  # noqa: BLE001 - any failure counts
                counts["fail"] += 1

    threads = [threading.Thread(target=loop) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        new_dir = tmp_path / "new"
        new_dir.mkdir()
        ncrt, nkey = make_cert(new_dir, "h.test", serial=2222)
        crt.write_bytes(ncrt.read_bytes())
        key.write_bytes(nkey.read_bytes())
        p.send(signal.SIGHUP)
        deadline = time.time() + 5
        while "serial=08AE" not in peer_cn(port, "h.test") and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
    assert "serial=08AE" in peer_cn(port, "h.test")  # 2222
    assert counts["fail"] == 0, counts
    assert counts["ok"] > 20, counts


def test_ssl_variables_in_headers_and_access_log(procs, tmp_path):
    crt, key = make_cert(tmp_path, "v.test")
    seen = {}

    def answer(conn, data):
        seen["head"] = data.decode()
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    be = RawBackend(answer)
    log = tmp_path / "access.log"
    plain = free_port()
    _, port, _ = start_gateway(procs, tmp_path, f"""
        log_format tls '$https|$ssl_protocol|$ssl_cipher|$ssl_server_name|$scheme|$status';
        upstream be {{ server 127.0.0.1:{be.port}; }}
        server {{ listen 127.0.0.1:{{port}} ssl; listen 127.0.0.1:{plain};
                  server_name v.test; access_log {log} tls;
                  ssl_certificate {crt}; ssl_certificate_key {key};
                  ssl_protocols TLSv1.2; ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256;
                  location / {{ proxy_pass http://be;
                               proxy_set_header X-Forwarded-Proto $scheme;
                               proxy_set_header X-TLS "$https $ssl_protocol $ssl_cipher"; }} }}""")
    st, text, *_ = https_get(port, "v.test", client_ctx(crt))
    assert (st, text) == (200, "ok")
    assert "X-Forwarded-Proto: https\r\n" in seen["head"]
    assert "X-TLS: on TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256\r\n" in seen["head"]
    with socket.create_connection(("127.0.0.1", plain), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: v.test\r\nConnection: close\r\n\r\n")
        while s.recv(4096):
            pass
    assert "X-Forwarded-Proto: http\r\n" in seen["head"]
    deadline = time.time() + 5
    while time.time() < deadline and len(log.read_text().splitlines() if log.exists() else []) < 2:
        time.sleep(0.1)
    lines = log.read_text().splitlines()
    assert lines[0] == "on|TLSv1.2|ECDHE-ECDSA-AES128-GCM-SHA256|v.test|https|200"
    assert lines[1] == "|-|-|-|http|200"


def test_daemon_https_listener_refuses_names_without_a_certificate(procs, tmp_path):
    tls_port = free_port()
    d = Daemon(procs, tmp_path, config="jern { listen 127.0.0.1:{port}; listen 127.0.0.1:"
               f"{tls_port} ssl; }}\n").start()
    api = d.admin()
    assert api.post("/v1/apps", {"name": "shop"}).status == 201
    assert f"127.0.0.1:{tls_port} ssl" in api.get("/v1/status").json()["listen"]
    # no certificate is attached to shop.localhost: a handshake alert, never
    # some other host's certificate
    with pytest.raises(ssl.SSLError, match="UNRECOGNIZED_NAME"):
        https_get(tls_port, "shop.localhost", client_ctx())
    r = s_client(tls_port, "-noservername")  # no SNI either
    assert b"unrecognized name" in r.stderr + r.stdout


def test_daemon_listen_parameter_other_than_ssl_is_refused(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("jern { listen 127.0.0.1:9 tls; }\n")
    r = subprocess.run([JERN, "serve", "-c", str(conf)], capture_output=True, text=True,
                       timeout=20, env={"JERN_STATE": str(tmp_path / "state")})
    assert r.returncode != 0
    assert 'invalid parameter "tls" in "listen": expected ssl' in r.stderr


def test_config_check_names_missing_and_bad_certificates(tmp_path):
    def check(body):
        conf = tmp_path / "t.conf"
        conf.write_text(f"events {{}}\nhttp {{\n{body}\n}}\n")
        return subprocess.run([JERN, "gateway", "-t", "-c", str(conf)], capture_output=True,
                              text=True, timeout=20)

    r = check("server { listen 127.0.0.1:9 ssl; }")
    assert r.returncode == 1
    assert ('t.conf:3: no "ssl_certificate" is defined for the "listen 127.0.0.1:9 ssl" '
            'directive in this server (or set "ssl_reject_handshake on")') in r.stderr
    r = check(f"server {{ listen 127.0.0.1:9 ssl; ssl_certificate {tmp_path}/none.crt;\n"
              f" ssl_certificate_key {tmp_path}/none.key; }}")
    assert r.returncode == 1
    assert f'cannot load certificate "{tmp_path}/none.crt"' in r.stderr
    crt, _ = make_cert(tmp_path, "x.test")
    _, other_key = make_cert(tmp_path, "y.test")
    r = check(f"server {{ listen 127.0.0.1:9 ssl; ssl_certificate {crt};\n"
              f" ssl_certificate_key {other_key}; }}")
    assert r.returncode == 1
    assert "cannot load certificate key" in r.stderr or "does not match" in r.stderr
    r = check(f"server {{ listen 127.0.0.1:9 ssl; ssl_certificate {crt};\n"
              f" ssl_certificate_key {crt.with_suffix('.key')}; }}")
    assert r.returncode == 0, r.stderr


def test_large_bodies_both_ways_chunked_and_websocket_over_tls(procs, tmp_path, testapp):
    import hashlib
    import websocket
    app = testapp("a")
    crt, key = make_cert(tmp_path, "big.test")
    _, port, _ = start_gateway(procs, tmp_path, f"""
        upstream be {{ server 127.0.0.1:{app}; keepalive 8; }}
        server {{ listen 127.0.0.1:{{port}} ssl; server_name big.test; access_log off;
                  client_max_body_size 64m; ssl_certificate {crt}; ssl_certificate_key {key};
                  location / {{ proxy_pass http://be; proxy_set_header Upgrade $http_upgrade;
                               proxy_set_header Connection $http_connection; }} }}""")
    ctx = client_ctx(crt)
    body = bytes(range(256)) * (8 * 1024 * 1024 // 256)  # 8 MiB
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        with ctx.wrap_socket(raw, server_hostname="big.test") as s:
            f = s.makefile("rb")
            # keep-alive: an 8 MiB upload echoed back, then a 16 MiB download
            s.sendall(b"POST /echo HTTP/1.1\r\nHost: big.test\r\nContent-Length: "
                      + str(len(body)).encode() + b"\r\n\r\n" + body)
            head = f.readline()
            assert head.startswith(b"HTTP/1.1 200"), head
            length = None
            while (line := f.readline()) != b"\r\n":
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            echoed = f.read(length)
            assert hashlib.sha256(echoed).digest() == hashlib.sha256(body).digest()
            s.sendall(b"GET /big?bytes=16777216 HTTP/1.1\r\nHost: big.test\r\n\r\n")
            assert f.readline().startswith(b"HTTP/1.1 200")
            while (line := f.readline()) != b"\r\n":
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            assert length == 16777216 and len(f.read(length)) == length
            s.sendall(b"GET /chunked?n=1000&size=1000 HTTP/1.1\r\nHost: big.test\r\n"
                      b"Connection: close\r\n\r\n")
            rest = f.read()
            assert rest.startswith(b"HTTP/1.1 200") and rest.endswith(b"0\r\n\r\n")
    ws = websocket.create_connection(f"wss://127.0.0.1:{port}/ws", timeout=10,
                                     sslopt={"ca_certs": str(crt), "server_hostname": "big.test",
                                             "check_hostname": False})
    try:
        for msg in ("hello", "x" * 70000):
            ws.send(msg)
            assert ws.recv() == msg
    finally:
        ws.close()
