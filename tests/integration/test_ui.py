"""The /ui dashboard (docs/UI.md) in a real browser: Debian's chromium driven
by playwright-core (tests/ui/dashboard.test.js) against the real daemon with
a real app (two releases, exec driver) and wrk load through the gateway. And
the daemon's memory while a page polls: the history ring is fixed."""
import json
import os
import shutil
import subprocess
import time
import uuid

import pytest
import requests

from conftest import JERN, ROOT, free_port
from deploykit import DeployDaemon, exec_cmd

TOKEN = "ui-test-token-0123456789"
NODE_DIR = ROOT / "tests" / "ui"
CHROMIUM = os.environ.get("JERN_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture
def d(procs, tmp_path):
    admin_port = free_port()
    conf = "jern { listen 127.0.0.1:{port}; admin 127.0.0.1:%d token=%s; }\n" % (admin_port, TOKEN)
    dd = DeployDaemon(procs, tmp_path, config=conf)
    dd.admin_url = f"http://127.0.0.1:{admin_port}"
    dd.start()
    yield dd
    dd.stop()
    dd.cleanup_exec()


def deploy(d, app, version):
    # A line at boot, then one a second: the log tail has something new to show.
    cmd = (f"echo release {version} booting; "
           f"(while sleep 1; do echo tick $(date +%s); done) & exec {exec_cmd()}")
    r = d.jern("deploy", app, "--cmd", cmd, "--health", "/health")
    assert r.returncode == 0, r.stdout + r.stderr


def test_dashboard_in_chromium(d, tmp_path):
    for need in ("node", "wrk"):
        assert shutil.which(need), f"{need} is missing (scripts/install-deps.sh installs it)"
    assert os.access(CHROMIUM, os.X_OK), "chromium is missing (scripts/install-deps.sh)"
    assert (NODE_DIR / "node_modules" / "playwright-core").is_dir(), \
        "run: cd tests/ui && npm ci (tests/run.sh does)"
    app = f"ui{uuid.uuid4().hex[:6]}"
    deploy(d, app, 1)
    deploy(d, app, 2)
    shots = os.environ.get("JERN_UI_SHOTS", str(tmp_path))
    env = dict(os.environ, ADMIN_URL=d.admin_url, GATEWAY_URL=d.url(""), TOKEN=TOKEN, APP=app,
               SHOTS=shots, CHROMIUM=CHROMIUM)
    t = time.time()
    r = subprocess.run(["node", str(NODE_DIR / "dashboard.test.js")], cwd=str(NODE_DIR), env=env,
                       capture_output=True, text=True, timeout=120)
    print(r.stdout, r.stderr, f"browser scenario: {time.time() - t:.1f} s", sep="\n")
    assert r.returncode == 0, r.stdout + r.stderr


def test_databases_page_in_chromium(d, tmp_path):
    """/ui/databases: each database with engine, size, attached apps and last
    backup, and its backups, from a real mariadbd."""
    if not shutil.which("mariadbd"):
        pytest.skip("mariadb-server is not installed")
    r = d.jern("db", "create", "uidb", "--memory", "256M")
    assert r.returncode == 0, r.stderr
    try:
        assert d.jern("create", "shop").returncode == 0
        assert d.jern("db", "attach", "uidb", "shop").returncode == 0
        r = d.jern("db", "backup", "uidb", "--json")
        assert r.returncode == 0, r.stderr
        import json
        backup = json.loads(r.stdout)["id"]
        shots = os.environ.get("JERN_UI_SHOTS", str(tmp_path))
        env = dict(os.environ, ADMIN_URL=d.admin_url, TOKEN=TOKEN, DB="uidb", APP="shop",
                   BACKUP=backup, SHOTS=shots, CHROMIUM=CHROMIUM)
        t = time.time()
        r = subprocess.run(["node", str(NODE_DIR / "databases.test.js")], cwd=str(NODE_DIR),
                           env=env, capture_output=True, text=True, timeout=60)
        print(r.stdout, r.stderr, f"browser scenario: {time.time() - t:.1f} s", sep="\n")
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        r = d.jern("db", "destroy", "uidb", "--force")
        assert r.returncode == 0, r.stderr


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_daemon_memory_flat_while_polled(procs, tmp_path):
    admin_port = free_port()
    conf = "jern { listen 127.0.0.1:{port}; admin 127.0.0.1:%d token=%s; }\n" % (admin_port, TOKEN)
    dd = DeployDaemon(procs, tmp_path, config=conf)
    # A small ASan quarantine, so freed memory shows up as freed.
    dd.env_extra = {"ASAN_OPTIONS": "abort_on_error=1:detect_leaks=0:quarantine_size_mb=1"}
    dd.start()
    try:
        url = f"http://127.0.0.1:{admin_port}"
        s = requests.Session()
        r = s.post(url + "/ui/login", data={"token": TOKEN}, allow_redirects=False)
        assert r.status_code == 303 and "jern_session" in s.cookies
        for name in ("m1", "m2", "m3"):
            assert dd.admin().post("/v1/apps", {"name": name}).status == 201

        def poll(seconds):
            end = time.time() + seconds
            n = 0
            while time.time() < end:
                # What a page fetches each second, a few times over.
                for q in ("/ui/data?since=0", "/ui/data?since=%d" % (time.time() - 2), "/ui/api/apps",
                          "/ui/api/upstreams", "/ui"):
                    assert s.get(url + q, timeout=5).status_code == 200
                    n += 1
                time.sleep(0.05)
            return n

        poll(4)  # warm up: allocator pools, SQLite's cache
        before = rss_kb(dd.proc.pid)
        n = poll(20)
        after = rss_kb(dd.proc.pid)
        print(f"daemon RSS {before} kB -> {after} kB over {n} requests in 20 s")
        assert after - before < 1024, f"RSS grew {after - before} kB while polled ({n} requests)"
    finally:
        dd.stop()


def test_jern_ui_serves_the_socket_on_loopback_with_a_one_time_login(procs, tmp_path):
    admin_port = free_port()
    conf = "jern { listen 127.0.0.1:{port}; admin 127.0.0.1:%d token=%s; }\n" % (admin_port, TOKEN)
    dd = DeployDaemon(procs, tmp_path, config=conf)
    dd.start()
    try:
        port = free_port()
        p = procs.start([JERN,
                         "ui", "--port", str(port)], name="jern-ui", env=dd.env())
        url = None
        deadline = time.time() + 10
        while time.time() < deadline and not url:
            for line in p.output().splitlines():
                if line.startswith("open "):
                    url = line.split()[1]
            time.sleep(0.05)
        assert url and url.startswith(f"http://127.0.0.1:{port}/ui/login?code="), p.output()
        s = requests.Session()
        r = s.get(url, allow_redirects=False)
        assert r.status_code == 303 and r.headers["Location"] == "/ui"
        assert "HttpOnly" in r.headers["Set-Cookie"] and "SameSite=Strict" in r.headers["Set-Cookie"]
        page = s.get(f"http://127.0.0.1:{port}/ui")
        assert page.status_code == 200 and "uPlot" in page.text
        assert s.get(f"http://127.0.0.1:{port}/ui/data?since=0").json()["seconds"] == 3600
        # The live log tail is a stream: relayed as it comes, a line written
        # after the stream opened arrives through the port.
        app = f"uil{uuid.uuid4().hex[:6]}"
        deploy(dd, app, 1)
        r = s.get(f"http://127.0.0.1:{port}/ui/apps/{app}/logs", stream=True, timeout=10)
        assert r.status_code == 200 and r.headers["Content-Type"] == "text/event-stream"
        t0 = time.time()
        for line in r.iter_lines(decode_unicode=True):
            if line.startswith("data: "):
                text = json.loads(line[6:])["text"]
                if text.startswith("tick ") and int(text.split()[1]) > t0 + 1:
                    break  # written after the stream opened
            assert time.time() < t0 + 10, "no new line pushed within 10 s"
        r.close()
        # The code works once; the port passes nothing but /ui.
        assert requests.get(url, allow_redirects=False).status_code == 401
        assert s.get(f"http://127.0.0.1:{port}/v1/apps").status_code == 404
        assert s.get(f"http://127.0.0.1:{port}/metrics").status_code == 404
        # On TCP a login code needs the bearer token; the session is no token for /v1.
        tcp = f"http://127.0.0.1:{admin_port}"
        assert requests.post(tcp + "/ui/code").status_code == 401
        assert requests.get(tcp + "/v1/apps", cookies=s.cookies).status_code == 401
        r = requests.post(tcp + "/ui/code", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200 and len(r.json()["code"]) == 64
        # `jern ui` against the TCP listener prints a login URL there.
        r = dd.cli("ui", "--admin", f"127.0.0.1:{admin_port}", "--token", TOKEN)
        assert r.returncode == 0, r.stderr
        url = r.stdout.split()[1]
        assert url.startswith(tcp + "/ui/login?code="), r.stdout
        assert requests.get(url, allow_redirects=False).status_code == 303
        r = dd.cli("ui", "--admin", f"127.0.0.1:{admin_port}", "--token", "wrong-token-0000000000")
        assert r.returncode == 1 and "token" in r.stderr, r.stderr
    finally:
        dd.stop()
        dd.cleanup_exec()
