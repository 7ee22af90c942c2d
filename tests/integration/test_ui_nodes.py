"""The dashboard's nodes page (docs/UI.md) in a real browser: Debian's chromium
driven by playwright-core (tests/ui/nodes.test.js). Against a real cluster (one
etcd member, two `jern serve --cluster` nodes on 127.0.0.21-22 with labels, exec
apps of the test app) and against a single labelled node: the nodes with their
labels, where each app's instances, logs and databases are and whether they
stay inside the app's required labels (an app whose labels change leaves its
logs outside them), and the app page's node column."""
import json
import os
import shutil
import socket
import subprocess
import time
import uuid

import pytest

from conftest import JERN, ROOT, TESTAPP, Proc, free_port, wait_port
from deploykit import DeployDaemon, exec_cmd

TOKEN = "ui-nodes-token-0123456789"
NODE_DIR = ROOT / "tests" / "ui"
CHROMIUM = os.environ.get("JERN_CHROMIUM", "/usr/bin/chromium")
NODES = [("u1", "127.0.0.21", ["jurisdiction=NO", "site=oslo-1"]),
         ("u2", "127.0.0.22", ["jurisdiction=SE"])]


def need_browser():
    assert shutil.which("node"), "node is missing (scripts/install-deps.sh installs it)"
    assert os.access(CHROMIUM, os.X_OK), "chromium is missing (scripts/install-deps.sh)"
    assert (NODE_DIR / "node_modules" / "playwright-core").is_dir(), \
        "run: cd tests/ui && npm ci (tests/run.sh does)"


def browse(admin_url, expect, tmp_path, shots=True):
    """docs/ui-nodes.png (JERN_UI_SHOTS=docs) shows the cluster."""
    shots = os.environ.get("JERN_UI_SHOTS", str(tmp_path)) if shots else str(tmp_path)
    env = dict(os.environ, ADMIN_URL=admin_url, TOKEN=TOKEN, EXPECT=json.dumps(expect),
               SHOTS=shots, CHROMIUM=CHROMIUM)
    r = subprocess.run(["node", str(NODE_DIR / "nodes.test.js")], cwd=str(NODE_DIR), env=env,
                       capture_output=True, text=True, timeout=180)
    print(r.stdout, r.stderr, sep="\n")
    assert r.returncode == 0, r.stdout + r.stderr


def wait_for(pred, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.mark.skipif(not shutil.which("etcd"), reason="etcd-server not installed")
def test_nodes_page_of_a_cluster(tmp_path):
    need_browser()
    procs, states = [], {}
    etcd_port, peer_port = free_port(), free_port()
    etcd_url, peer = f"http://127.0.0.1:{etcd_port}", f"http://127.0.0.1:{peer_port}"
    admin_port = free_port()

    def jern(node, *args):
        env = dict(os.environ, JERN_ADMIN=str(states[node] / "admin.sock"))
        return subprocess.run([JERN, *args], env=env, capture_output=True, text=True, timeout=60)

    def instances(app):
        r = jern("u1", "where", app, "--json")
        apps = json.loads(r.stdout)["apps"] if r.returncode in (0, 3) else []
        return sorted(i["node"] for i in apps[0]["items"] if i["kind"] == "instance") if apps else []

    try:
        procs.append(Proc(["etcd", "--data-dir", tmp_path / "etcd", "--listen-client-urls", etcd_url,
                           "--advertise-client-urls", etcd_url, "--listen-peer-urls", peer,
                           "--initial-advertise-peer-urls", peer, "--initial-cluster",
                           f"default={peer}"], tmp_path / "etcd.log"))
        wait_port(etcd_port, timeout=20)
        for name, addr, labels in NODES:
            d = tmp_path / name
            d.mkdir()
            port = free_port()
            admin = f"admin 127.0.0.1:{admin_port} token={TOKEN}; " if name == "u1" else ""
            (d / "jern.conf").write_text(
                f"jern {{ listen {addr}:{port}; {admin}state_dir {d}/state; }}\n")
            args = [JERN, "serve", "-c", d / "jern.conf", "--cluster", etcd_url, "--node", name,
                    "--advertise", addr]
            for kv in labels:
                args += ["--label", kv]
            procs.append(Proc(args, d / "serve.log"))
            states[name] = d / "state"
            wait_port(port, host=addr, timeout=20)
            wait_for(lambda: (d / "state" / "admin.sock").exists(), 20, f"{name}'s admin socket")
        wait_for(lambda: len(json.loads(jern("u1", "nodes", "--json").stdout)["nodes"]) == 2, 20,
                 "two nodes in jern nodes")
        r = jern("u1", "apps", "set", "nor", "--require", "jurisdiction=NO")
        assert r.returncode == 0, r.stderr
        for app, n in (("nor", "1"), ("spread", "2")):
            r = jern("u1", "deploy", app, "--cmd", TESTAPP, "--instances", n)
            assert r.returncode == 0, r.stdout + r.stderr
        wait_for(lambda: instances("nor") == ["u1"], 30, "nor on u1")
        wait_for(lambda: instances("spread") == ["u1", "u2"], 30, "spread on u1 and u2")
        browse(f"http://127.0.0.1:{admin_port}", {
            "node": "u1",
            "nodes": {"u1": "jurisdiction=NO, site=oslo-1", "u2": "jurisdiction=SE"},
            "where": {"nor": ["u1"], "spread": ["u1", "u2"]},
            "inside": {"nor": True, "spread": True},
            "app": "spread"}, tmp_path)
        # spread now requires Norway: its instance leaves u2, whose copy of its
        # output stays there, outside the app's labels, and the page says so
        r = jern("u1", "apps", "set", "spread", "--require", "jurisdiction=NO")
        assert r.returncode == 0, r.stderr
        wait_for(lambda: instances("spread") == ["u1", "u1"], 60, "spread's instances on u1")
        browse(f"http://127.0.0.1:{admin_port}", {
            "node": "u1",
            "nodes": {"u1": "jurisdiction=NO, site=oslo-1", "u2": "jurisdiction=SE"},
            "where": {"spread": ["u1", "u1"]},
            "logs": {"spread": ["u1", "u2"]},
            "outside": {"spread": ["logs@u2"]},
            "inside": {"spread": False},
            "app": "spread"}, tmp_path, shots=False)
    finally:
        for p in reversed(procs):
            p.stop()
        for st in states.values():
            for pids in (st / "exec" / "instances").glob("*/pids"):
                for pid in pids.read_text().split():
                    try:
                        os.kill(int(pid), 9)
                    except (ProcessLookupError, ValueError):
                        pass


def test_nodes_page_of_a_single_node(procs, tmp_path):
    need_browser()
    admin_port = free_port()
    conf = ("jern { listen 127.0.0.1:{port}; admin 127.0.0.1:%d token=%s; label site=home; "
            "label jurisdiction=NO; }\n" % (admin_port, TOKEN))
    d = DeployDaemon(procs, tmp_path, config=conf)
    d.start()
    try:
        app = f"un{uuid.uuid4().hex[:6]}"
        r = d.jern("deploy", app, "--cmd", exec_cmd(), "--health", "/health", "--instances", "2")
        assert r.returncode == 0, r.stdout + r.stderr
        host = socket.gethostname()
        expect = {"node": host, "nodes": {host: "site=home, jurisdiction=NO"},
                  "where": {app: [host, host]}, "inside": {app: True}, "app": app}
        db = None
        if shutil.which("mariadbd"):  # where its data lives: a real database and a backup
            db = f"ud{uuid.uuid4().hex[:6]}"
            for args in (("db", "create", db, "--memory", "256M"), ("db", "attach", db, app),
                         ("db", "backup", db)):
                r = d.jern(*args)
                assert r.returncode == 0, (args, r.stdout + r.stderr)
            expect["data"] = {app: ["database", "backups"]}
        browse(f"http://127.0.0.1:{admin_port}", expect, tmp_path, shots=False)
    finally:
        if db:
            d.jern("db", "destroy", db, "--force")
        d.stop()
        d.cleanup_exec()
