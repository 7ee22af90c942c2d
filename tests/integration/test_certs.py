"""Certificates for app domains from a real ACME CA (Pebble), validated over
HTTP-01 that jern's gateway answers itself; users' own certificates; the
https mode of apps. Every test starts its own Pebble on free ports."""
import os
import re
import stat
import subprocess
import threading
import time
import urllib.request

import pytest

from conftest import have
from jerndaemon import Daemon
from pebblekit import Pebble, wait_cert

pytestmark = pytest.mark.skipif(not have("pebble"), reason="pebble not installed")


def start(procs, tmp_path, extra="", http=""):
    d = Daemon(procs, tmp_path)
    ca = Pebble(procs, tmp_path, d.port)
    d.config = f"jern {{ listen 127.0.0.1:{d.port}; {ca.jern_block()} {extra} }}\n"
    if http:
        d.config += f"http {{ {http} }}\n"
    d.start()
    return d, ca


def openssl(*args, stdin=None):
    r = subprocess.run(["openssl", *args], capture_output=True, text=True, input=stdin)
    assert r.returncode == 0, r.stderr
    return r.stdout


def get(d, host, path="/"):
    req = urllib.request.Request(d.url(path), headers={"Host": host})
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.status, r.read()


def served_serial(port, host):
    out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername",
                          host], input="", capture_output=True, text=True).stdout
    r = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=out, capture_output=True,
                       text=True)
    return r.stdout.strip().split("=")[-1].upper() if r.returncode == 0 else None


def wait_serial(port, host, serial, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        s = served_serial(port, host)
        if s == serial.upper():
            return s
        time.sleep(0.1)
    return served_serial(port, host)


def test_app_domain_gets_a_certificate_and_a_forced_renewal(procs, tmp_path, testapp):
    from conftest import free_port
    sport = free_port()
    # No connection reaches keepalive_requests during the load: h2load's
    # timing mode can hang at its stop when a client is reconnecting then.
    d, ca = start(procs, tmp_path, extra=f"listen 127.0.0.1:{sport} ssl;",
                  http="keepalive_requests 1000000;")
    api = d.admin()
    assert d.cli("create", "shop", "--domain", "shop.test").returncode == 0
    port = testapp("shop")
    assert d.cli("upstream", "shop", "add", f"127.0.0.1:{port}").returncode == 0

    t0 = time.time()
    c = wait_cert(api, "shop.test", lambda c: c["state"] == "valid")
    issued_s = time.time() - t0
    assert c["source"] == "acme" and c["key_type"] == "ECDSA P-256"
    assert "Pebble" in c["issuer"]
    # shop.localhost is the app's host too, but never gets a certificate.
    assert [x["domain"] for x in api.get("/v1/certs").json()["certs"]] == ["shop.test"]

    # The validator reached jern's own listener for the token.
    assert "shop.test:%d/.well-known/acme-challenge/" % d.port in ca.log()

    # The files: key P-256, chain from Pebble's root, SAN the domain, both 0600.
    cdir = d.state / "certs" / "shop.test"
    for f in ("cert.pem", "key.pem"):
        assert stat.S_IMODE(os.stat(cdir / f).st_mode) == 0o600, f
    assert "ASN1 OID: prime256v1" in openssl("pkey", "-in", cdir / "key.pem", "-noout", "-text")
    leaf = openssl("x509", "-in", cdir / "cert.pem", "-noout", "-issuer", "-ext",
                   "subjectAltName", "-serial")
    assert "Pebble Intermediate CA" in leaf and "DNS:shop.test" in leaf
    root = ca.root_pem(tmp_path / "root.pem")
    inter = ca.intermediate_pem(tmp_path / "inter.pem")
    assert ": OK" in openssl("verify", "-CAfile", root, "-untrusted", inter, cdir / "cert.pem")
    key_pub = openssl("pkey", "-in", cdir / "key.pem", "-pubout")
    cert_pub = openssl("x509", "-in", cdir / "cert.pem", "-noout", "-pubkey")
    assert key_pub == cert_pub

    out = d.cli("certs")
    assert out.returncode == 0
    line = [l for l in out.stdout.splitlines() if l.startswith("shop.test")][0]
    assert "acme" in line and "valid" in line and "Pebble" in line

    # HTTPS with the issued certificate, verified against Pebble's root.
    assert wait_serial(sport, "shop.test", c["serial"]) == c["serial"]
    r = curl_https(d, root, "shop.test", sport)
    assert r.stdout == "200 0", (r.stdout, r.stderr)

    # Forced renewal under load over TLS (h2load, HTTP/1.1 keep-alive, bounded):
    # no request fails, and new handshakes get the new certificate.
    load = subprocess.Popen(["h2load", "--h1", "-c", "8", "-D", "6", "--connect-to",
                             f"127.0.0.1:{sport}", f"https://shop.test:{sport}/"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    fresh = {"ok": 0, "failed": 0}
    try:
        time.sleep(1)
        r = d.cli("cert", "renew", "shop.test")
        assert r.returncode == 0, r.stderr
        deadline = time.time() + 4
        while time.time() < deadline:  # new connections all through the renewal
            rr = curl_https(d, root, "shop.test", sport)
            fresh["ok" if rr.stdout == "200 0" else "failed"] += 1
        c2 = wait_cert(api, "shop.test",
                       lambda x: x["state"] == "valid" and x["serial"] != c["serial"])
    finally:
        out, _ = load.communicate(timeout=30)
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored, (\d+) timeout", out)
    assert m, out
    total, done, ok, failed, errored = (int(m.group(i)) for i in (1, 3, 4, 5, 6))
    assert failed == 0 and errored == 0 and ok == done and ok > 100, out
    assert re.search(r"status codes: (\d+) 2xx, 0 3xx, 0 4xx, 0 5xx", out), out
    assert fresh["failed"] == 0 and fresh["ok"] > 0, fresh
    assert c2["attempts"] == 2 and c2["last_error"] == ""
    assert wait_serial(sport, "shop.test", c2["serial"]) == c2["serial"]
    assert c2["serial"].lower() in openssl("x509", "-in", cdir / "cert.pem", "-noout",
                                           "-serial").lower()
    log = d.proc.output()
    assert "certificate for shop.test: renewing (forced)" in log
    assert f"certificate for shop.test served (serial {c2['serial']})" in log
    print(f"issued in {issued_s:.1f}s; during the renewal: h2load {ok} requests, "
          f"{fresh['ok']} new connections")


def test_unreachable_domain_backs_off_with_a_clear_error(procs, tmp_path):
    d, ca = start(procs, tmp_path)
    api = d.admin()
    ca.add_a("bad.test", "127.0.0.2")  # jern listens on 127.0.0.1 only
    assert d.cli("create", "bad", "--domain", "bad.test").returncode == 0
    c = wait_cert(api, "bad.test", lambda c: c["state"] == "failed")
    assert "validation of bad.test failed" in c["last_error"]
    assert "connection refused" in c["last_error"]
    assert c["failures"] == 1 and 50 <= c["next_attempt_in_s"] <= 60
    log = d.proc.output()
    assert "certificate for bad.test: validation of bad.test failed" in log
    assert "attempt 1 failed, next in 60s" in log
    # The backoff holds: no second attempt within the next seconds.
    time.sleep(2.5)
    c = api.get("/v1/certs/bad.test").json()
    assert c["attempts"] == 1 and c["state"] == "failed"
    out = d.cli("certs").stdout
    assert "bad.test" in out and "failed" in out and "next in" in out
    # A forced renewal ignores the backoff and fails again, with the count up.
    assert api.post("/v1/certs/bad.test/renew", None).status == 202
    c = wait_cert(api, "bad.test", lambda c: c["failures"] == 2)
    assert 110 <= c["next_attempt_in_s"] <= 120


def make_cert(tmp_path, name, cn, days="2"):
    key, crt = tmp_path / f"{name}.key", tmp_path / f"{name}.crt"
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", crt, "-days", days, "-subj", f"/CN={cn}", "-addext",
            f"subjectAltName=DNS:{cn}")
    return crt, key


def test_user_certificate_is_validated_and_kept(procs, tmp_path):
    d = Daemon(procs, tmp_path,
               config="jern { listen 127.0.0.1:{port}; acme_directory off; }\n").start()
    crt, key = make_cert(tmp_path, "own", "own.test")
    crt2, key2 = make_cert(tmp_path, "other", "own.test")
    crt3, key3 = make_cert(tmp_path, "wrong", "else.test")

    r = d.cli("cert", "add", "own.test", "--cert", crt, "--key", key2)
    assert r.returncode == 1 and "the key does not belong to the certificate" in r.stderr
    r = d.cli("cert", "add", "own.test", "--cert", crt3, "--key", key3)
    assert r.returncode == 1 and "does not cover own.test" in r.stderr
    r = d.cli("cert", "add", "own.test", "--cert", tmp_path / "missing.pem", "--key", key)
    assert r.returncode == 1 and "cannot read the certificate" in r.stderr
    r = d.cli("cert", "add", "own.test", "--cert", key, "--key", key)
    assert r.returncode == 1 and "not a PEM certificate" in r.stderr

    r = d.cli("cert", "add", "own.test", "--cert", crt, "--key", key)
    assert r.returncode == 0, r.stderr
    assert "installed the certificate for own.test (ECDSA P-256" in r.stdout
    cdir = d.state / "certs" / "own.test"
    assert stat.S_IMODE(os.stat(cdir / "key.pem").st_mode) == 0o600
    assert (cdir / "cert.pem").read_text() == crt.read_text()

    r = d.cli("cert", "renew", "own.test")
    assert r.returncode == 1 and "is your own" in r.stderr
    # It survives a restart, still the user's.
    d.stop()
    d.start()
    c = d.admin().get("/v1/certs/own.test").json()
    assert c["source"] == "user" and c["state"] == "valid"

    r = d.cli("cert", "remove", "own.test")
    assert r.returncode == 0
    assert d.admin().get("/v1/certs/own.test").status == 404
    assert not (cdir / "cert.pem").exists()


def expired_cert(tmp_path, cn):
    """A certificate that expired yesterday (openssl req cannot back-date)."""
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    k = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.utcnow()
    c = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(k.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(days=10))
         .not_valid_after(now - datetime.timedelta(days=1))
         .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
         .sign(k, hashes.SHA256()))
    crt, key = tmp_path / "old.crt", tmp_path / "old.key"
    crt.write_bytes(c.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    return crt, key


def test_expired_user_certificate_is_refused(procs, tmp_path):
    d = Daemon(procs, tmp_path,
               config="jern { listen 127.0.0.1:{port}; acme_directory off; }\n").start()
    crt, key = expired_cert(tmp_path, "old.test")
    r = d.cli("cert", "add", "old.test", "--cert", crt, "--key", key)
    assert r.returncode == 1 and "has expired" in r.stderr


def test_https_mode_of_an_app(procs, tmp_path):
    d = Daemon(procs, tmp_path,
               config="jern { listen 127.0.0.1:{port}; acme_directory off; }\n").start()
    assert d.cli("create", "web").returncode == 0
    api = d.admin()
    assert api.get("/v1/apps/web/https").json() == {"app": "web", "https": "off"}
    r = d.cli("domains", "web", "set", "--https", "redirect")
    assert r.returncode == 0 and "redirects to HTTPS" in r.stdout
    assert api.get("/v1/apps/web/https").json()["https"] == "redirect"
    r = d.cli("domains", "web", "set", "--https", "sometimes")
    assert r.returncode == 1 and "must be one of off, redirect, only" in r.stderr
    r = d.cli("domains", "nope", "set", "--https", "only")
    assert r.returncode == 1 and "app 'nope' does not exist" in r.stderr
    # The mode goes with the app: one made later under the name starts off.
    assert d.cli("destroy", "web", "--yes").returncode == 0
    assert d.cli("create", "web").returncode == 0
    assert api.get("/v1/apps/web/https").json()["https"] == "off"


def test_stop_while_the_ca_does_not_answer(procs, tmp_path):
    """A stop in the middle of an issuance ends the job (its thread notices
    within a second) before the process exits."""
    import signal
    import socket
    mute = socket.socket()
    mute.bind(("127.0.0.1", 0))
    mute.listen(16)  # accepts (in the backlog), never answers
    try:
        ca = f"http://127.0.0.1:{mute.getsockname()[1]}/dir"
        d = Daemon(procs, tmp_path,
                   config="jern { listen 127.0.0.1:{port}; acme_directory %s; }\n" % ca).start()
        assert d.cli("create", "shop", "--domain", "shop.test").returncode == 0
        wait_cert(d.admin(), "shop.test", lambda c: c["state"] == "issuing", timeout=10)
        time.sleep(0.3)
        t0 = time.time()
        d.proc.send(signal.SIGTERM)
        assert d.proc.wait(timeout=10) == 0
        took = time.time() - t0
        assert took < 3.5, took
        out = d.proc.output()
        assert "certificate for shop.test: issuance stopped, the daemon is stopping" in out
        assert "did not stop" not in out
    finally:
        mute.close()


def curl_https(d, ca_file, host, port, path="/", extra=()):
    return subprocess.run(["curl", "-sS", "--max-time", "15", "--cacert", str(ca_file), "--resolve",
                           f"{host}:{port}:127.0.0.1", "-o", "/dev/null", "-w",
                           "%{http_code} %{ssl_verify_result}", *extra,
                           f"https://{host}:{port}{path}"],
                          capture_output=True, text=True)


def test_https_with_the_issued_certificate_and_redirect(procs, tmp_path, testapp):
    from conftest import free_port
    sport = free_port()
    d, ca = start(procs, tmp_path, extra=f"listen 127.0.0.1:{sport} ssl;")
    api = d.admin()
    assert d.cli("create", "shop", "--domain", "shop.test").returncode == 0
    port = testapp("shop")
    assert d.cli("upstream", "shop", "add", f"127.0.0.1:{port}").returncode == 0
    c = wait_cert(api, "shop.test", lambda c: c["state"] == "valid")
    root = ca.root_pem(tmp_path / "root.pem")
    deadline = time.time() + 15
    while time.time() < deadline:
        r = curl_https(d, root, "shop.test", sport)
        if r.stdout.startswith("200"):
            break
        time.sleep(0.1)
    assert r.stdout == "200 0", (r.stdout, r.stderr)
    served = openssl("s_client", "-connect", f"127.0.0.1:{sport}", "-servername", "shop.test",
                     stdin="")
    leaf = openssl("x509", "-noout", "-serial", stdin=served)
    assert c["serial"].lower() in leaf.lower()
    # A name without a certificate gets no handshake (ssl_reject_handshake).
    r = curl_https(d, root, "other.test", sport)
    assert not r.stdout.startswith("200")

    # redirect: plain HTTP -> HTTPS on the ssl port; the ACME path stays plain.
    assert d.cli("domains", "shop", "set", "--https", "redirect").returncode == 0
    deadline = time.time() + 15
    while time.time() < deadline:
        a = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                            "-H", "Host: shop.test", d.url("/a/b?x=1")],
                           capture_output=True, text=True).stdout
        if a.startswith("301"):
            break
        time.sleep(0.1)
    assert a == f"301 https://shop.test:{sport}/a/b?x=1", a
    a = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                        "-d", "x", "-H", "Host: shop.test", d.url("/form")],
                       capture_output=True, text=True).stdout
    assert a == "308"
    # shop.localhost has no certificate: served as before.
    st, _ = get(d, "shop.localhost")
    assert st == 200
    r = curl_https(d, root, "shop.test", sport, extra=["-L"])
    assert r.stdout == "200 0"
    # only: plain HTTP refused
    assert d.cli("domains", "shop", "set", "--https", "only").returncode == 0
    deadline = time.time() + 15
    while time.time() < deadline:
        a = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                            "-H", "Host: shop.test", d.url("/")], capture_output=True,
                           text=True).stdout
        if a == "403":
            break
        time.sleep(0.1)
    assert a == "403"
    assert d.cli("domains", "shop", "set", "--https", "off").returncode == 0
    deadline = time.time() + 15
    while time.time() < deadline and a != "200":
        a = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                            "-H", "Host: shop.test", d.url("/")], capture_output=True,
                           text=True).stdout
        time.sleep(0.1)
    assert a == "200"


def test_tests_never_ask_the_default_ca(procs, tmp_path):
    """Without acme_directory the daemon would ask Let's Encrypt; the test
    environment (JERN_ACME_DIRECTORY=off, conftest.py) keeps every daemon on
    loopback, and says so in /v1/certs."""
    d = Daemon(procs, tmp_path).start()
    assert d.cli("create", "shop", "--domain", "shop.example.com").returncode == 0
    time.sleep(1.5)
    a = d.admin().get("/v1/certs").json()
    assert a["acme_directory"] == "off"
    c = a["certs"][0]
    assert c["domain"] == "shop.example.com" and c["state"] == "pending"
    assert c["attempts"] == 0 and c["acme"] is False
    assert "requesting from" not in d.proc.output()


def test_app_host_under_a_public_base_domain_gets_a_certificate(procs, tmp_path, testapp):
    """With base_domain a public name, APP.BASE_DOMAIN is a host users reach
    the app at: it gets a certificate like an explicit domain; /metrics shows
    each certificate's expiry and validity."""
    from conftest import free_port
    sport = free_port()
    d, ca = start(procs, tmp_path, extra=f"listen 127.0.0.1:{sport} ssl; base_domain apps.test;")
    api = d.admin()
    assert d.cli("create", "web").returncode == 0
    port = testapp("web")
    assert d.cli("upstream", "web", "add", f"127.0.0.1:{port}").returncode == 0
    c = wait_cert(api, "web.apps.test", lambda c: c["state"] == "valid")
    assert c["source"] == "acme"
    root = ca.root_pem(tmp_path / "root.pem")
    deadline = time.time() + 15
    while time.time() < deadline:
        r = curl_https(d, root, "web.apps.test", sport)
        if r.stdout.startswith("200"):
            break
        time.sleep(0.1)
    assert r.stdout == "200 0", (r.stdout, r.stderr)
    m = api.get("/metrics").text
    assert 'jern_cert_valid{domain="web.apps.test"} 1' in m, m
    exp = re.search(r'jern_cert_expiry_timestamp_seconds\{domain="web.apps.test",source="acme"\} '
                    r'(\d+)', m)
    assert exp and int(exp.group(1)) > time.time() + 86400
    # The app's certificate goes with the app.
    assert d.cli("destroy", "web", "--yes").returncode == 0
    deadline = time.time() + 10
    while time.time() < deadline:
        names = [x["domain"] for x in api.get("/v1/certs").json()["certs"]]
        if "web.apps.test" not in names:
            break
        time.sleep(0.1)
    assert "web.apps.test" not in names
