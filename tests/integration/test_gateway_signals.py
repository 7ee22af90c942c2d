"""Gateway signals: HUP reload under wrk load with zero errors, a broken reload
refused, listeners added and removed, QUIT finishing in-flight work, TERM, USR1."""
import re
import signal
import socket
import subprocess
import threading
import time

import pytest
import requests

from conftest import free_port, have, wait_port
from rawbackend import RawBackend
from test_gateway import start_gateway


def conf_body(backend, extra_server=""):
    return f"""
        upstream u {{ server 127.0.0.1:{backend}; keepalive 8; }}
        server {{ listen 127.0.0.1:{{port}}; access_log off;
                  location / {{ proxy_pass http://u; }} }}
        {extra_server}"""


def wait_for(pred, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def app_of(port, path="/"):
    return requests.get(f"http://127.0.0.1:{port}{path}", timeout=5).headers.get("X-App")


@pytest.mark.skipif(not have("wrk"), reason="wrk not installed")
def test_hup_reload_under_load_has_no_errors(procs, tmp_path, testapp):
    a, b = testapp("a"), testapp("b")
    p, port, conf = start_gateway(procs, tmp_path, conf_body(a), workers=2)
    body_b = conf_body(b)
    text_a = conf.read_text()
    wrk = subprocess.Popen(["wrk", "-t2", "-c20", "-d5s", f"http://127.0.0.1:{port}/"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for i in range(6):
            time.sleep(0.6)
            if i % 2 == 0:
                conf.write_text(text_a.replace(f"127.0.0.1:{a};", f"127.0.0.1:{b};"))
            else:
                conf.write_text(text_a)
            p.send(signal.SIGHUP)
        out, _ = wrk.communicate(timeout=20)
    finally:
        if wrk.poll() is None:
            wrk.kill()
    assert "Non-2xx" not in out, out
    assert "Socket errors" not in out, out
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    assert reqs > 1000, out
    assert p.alive()
    assert body_b  # the last reload (i=5) restored backend a
    assert wait_for(lambda: app_of(port) == "a")


def test_reload_switches_backend_and_refuses_a_broken_config(procs, tmp_path, testapp):
    a, b = testapp("a"), testapp("b")
    p, port, conf = start_gateway(procs, tmp_path, conf_body(a))
    assert app_of(port) == "a"
    # an idle keep-alive client connection survives reloads
    s = requests.Session()
    assert s.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
    good = conf.read_text()
    conf.write_text(good.replace(f"127.0.0.1:{a};", f"127.0.0.1:{b};"))
    p.send(signal.SIGHUP)
    assert wait_for(lambda: app_of(port) == "b")
    assert s.get(f"http://127.0.0.1:{port}/", timeout=5).headers["X-App"] == "b"
    conf.write_text(good.replace("proxy_pass", "proxy_pas"))
    p.send(signal.SIGHUP)
    assert wait_for(lambda: "reload refused" in p.output())
    assert "proxy_pas" in p.output()
    assert app_of(port) == "b" and p.alive()


def test_reload_adds_and_removes_listeners(procs, tmp_path, testapp):
    a = testapp("a")
    p, port, conf = start_gateway(procs, tmp_path, conf_body(a))
    port2 = free_port()
    base = conf.read_text()
    conf.write_text(base.replace("server {", f"server {{ listen 127.0.0.1:{port2};", 1))
    p.send(signal.SIGHUP)
    wait_port(port2)
    assert app_of(port2) == "a" and app_of(port) == "a"
    conf.write_text(base.replace(f"listen 127.0.0.1:{port};", f"listen 127.0.0.1:{port2};"))
    p.send(signal.SIGHUP)

    def closed():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return False
        except OSError:
            return True

    assert wait_for(closed)
    assert app_of(port2) == "a"


def test_quit_finishes_in_flight_request(procs, tmp_path):
    # The backend tells when the request reached it: SIGQUIT is sent only then
    # (a fixed sleep raced with a loaded machine), and it answers 2 s later.
    def slow_answer(conn, data):
        time.sleep(2)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\nConnection: close\r\n\r\n"
                     b"slept 2000 ms\n")

    be = RawBackend(slow_answer)
    p, port, _ = start_gateway(procs, tmp_path, conf_body(be.port), workers=2)
    idle = socket.create_connection(("127.0.0.1", port), timeout=5)
    res = {}

    def slow():
        res["r"] = requests.get(f"http://127.0.0.1:{port}/slow", timeout=10)

    t = threading.Thread(target=slow)
    t.start()
    assert be.got.wait(10), "the request never reached the backend"
    p.send(signal.SIGQUIT)
    time.sleep(0.2)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    assert idle.recv(10) == b""  # idle connections are closed at once
    t.join()
    be.close()
    assert res["r"].status_code == 200 and res["r"].text == "slept 2000 ms\n"
    assert p.wait(timeout=5) == 0


def test_term_stops_at_once(procs, tmp_path, testapp):
    a = testapp("a")
    p, port, _ = start_gateway(procs, tmp_path, conf_body(a))
    def slow():
        try:
            requests.get(f"http://127.0.0.1:{port}/slow?ms=5000", timeout=10)
        except requests.RequestException:
            pass  # expected: the connection is cut

    threading.Thread(target=slow, daemon=True).start()
    time.sleep(0.3)
    t = time.time()
    p.send(signal.SIGTERM)
    assert p.wait(timeout=5) == 0
    assert time.time() - t < 2


def test_usr1_reopens_access_log(procs, tmp_path, testapp):
    a = testapp("a")
    log = tmp_path / "access.log"
    p, port, _ = start_gateway(procs, tmp_path, f"""
        upstream u {{ server 127.0.0.1:{a}; }}
        server {{ listen 127.0.0.1:{{port}}; access_log {log};
                  location / {{ proxy_pass http://u; }} }}""")
    requests.get(f"http://127.0.0.1:{port}/first", headers={"User-Agent": "ua-1"}, timeout=5)
    assert wait_for(lambda: log.exists() and "/first" in log.read_text())
    line = log.read_text().splitlines()[0]
    # nginx combined
    assert re.match(r'^127\.0\.0\.1 - - \[[^]]+\] "GET /first HTTP/1\.1" 200 \d+ "-" "ua-1"$', line), line
    rotated = tmp_path / "access.log.1"
    log.rename(rotated)
    p.send(signal.SIGUSR1)
    time.sleep(0.3)
    requests.get(f"http://127.0.0.1:{port}/second", timeout=5)
    assert wait_for(lambda: log.exists() and "/second" in log.read_text())
    assert "/second" not in rotated.read_text()


def test_request_in_flight_across_reload_finishes_on_its_snapshot(procs, tmp_path, testapp):
    a, b = testapp("a"), testapp("b")
    p, port, conf = start_gateway(procs, tmp_path, conf_body(a))
    good = conf.read_text()
    with requests.Session() as s:
        res = {}

        def slow():
            res["r"] = s.get(f"http://127.0.0.1:{port}/slow?ms=800", timeout=10)

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.3)
        conf.write_text(good.replace(f"127.0.0.1:{a};", f"127.0.0.1:{b};"))
        p.send(signal.SIGHUP)
        t.join()
        assert res["r"].status_code == 200 and res["r"].headers["X-App"] == "a"
        # same keep-alive connection, next request: the new snapshot
        assert wait_for(lambda: s.get(f"http://127.0.0.1:{port}/", timeout=5).headers["X-App"] == "b")
    assert p.alive() and "AddressSanitizer" not in p.output()
