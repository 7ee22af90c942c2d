"""jern node add --cluster / node remove on a real etcd and a real OpenSSH
server on loopback: the bootstrapped node (under a root directory of its own,
as in test_node_ssh.py) joins the cluster with its labels and shows in
`jern nodes`; remove drains it (its instances move, no request fails) before
stopping it; a drain no other node can take refuses to stop it. A local
cluster node n0 (127.0.0.21) is the other member; the ssh node is n1
(127.0.0.22)."""
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time

import pytest

from conftest import JERN, TESTAPP, Proc, free_port, wait_port
from test_node_ssh import node, rooted, sshd  # noqa: F401 (sshd: the fixture)

pytestmark = pytest.mark.skipif(not shutil.which("etcd"), reason="etcd-server not installed")

N0, N1 = "127.0.0.21", "127.0.0.22"


def wait_for(pred, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def kill_instances(state):
    for pids in (state / "exec" / "instances").glob("*/pids"):
        for pid in pids.read_text().split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass


@pytest.fixture
def etcd(procs, tmp_path):
    port, peer_port = free_port(), free_port()
    url, peer = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{peer_port}"
    procs.start(["etcd", "--data-dir", tmp_path / "etcd", "--listen-client-urls", url,
                 "--advertise-client-urls", url, "--listen-peer-urls", peer,
                 "--initial-advertise-peer-urls", peer, "--initial-cluster", f"default={peer}"],
                name="etcd")
    wait_port(port, timeout=20)
    return url


class Load:
    """GETs in a loop through one gateway, bounded in time, counting failures."""

    def __init__(self, port, app, seconds):
        self.port, self.app, self.seconds = port, app, seconds
        self.ok = self.failed = 0
        self.errors = []
        self.stop = False
        self.t = threading.Thread(target=self.run)
        self.t.start()

    def run(self):
        import http.client
        end = time.time() + self.seconds
        while time.time() < end and not self.stop:
            try:
                c = http.client.HTTPConnection(N0, self.port, timeout=3)
                c.request("GET", "/", headers={"Host": f"{self.app}.localhost"})
                st = c.getresponse().status
                c.close()
                if st == 200:
                    self.ok += 1
                    continue
                self.errors.append(st)
            except OSError as e:
                self.errors.append(repr(e))
            self.failed += 1

    def join(self):
        self.stop = True
        self.t.join()
        return self


def test_node_add_joins_the_cluster_and_remove_drains_it(sshd, etcd, procs, tmp_path):  # noqa: F811
    d0 = tmp_path / "n0"
    d0.mkdir()
    port0 = free_port()
    (d0 / "jern.conf").write_text(f"jern {{ listen {N0}:{port0}; state_dir {d0}/state; }}\n")
    procs.start([JERN, "serve", "-c", d0 / "jern.conf", "--cluster", etcd, "--node", "n0",
                 "--advertise", N0, "--label", "region=us"], name="n0")
    wait_port(port0, host=N0, timeout=20)
    env0 = dict(os.environ, JERN_ADMIN=str(d0 / "state" / "admin.sock"))

    def jern0(*args):
        return subprocess.run([JERN, *args], env=env0, capture_output=True, text=True,
                              timeout=60)

    def nodes0():
        r = jern0("nodes", "--json")
        return {n["name"]: n for n in json.loads(r.stdout)["nodes"]} if r.returncode == 0 else {}

    def where0(app):
        r = jern0("where", app, "--json")
        apps = json.loads(r.stdout)["apps"] if r.returncode in (0, 3) else []
        return sorted(i["node"] for i in apps[0]["items"] if i["kind"] == "instance") \
            if apps else []

    root = tmp_path / "n1"
    port1 = free_port()
    add = ["add", sshd["url"], "--name", "n1", "--cluster", etcd, "--advertise", N1,
           "--label", "region=eu", "--label", "disk=ssd",
           *rooted(sshd, root, "--listen", f"{N1}:{port1}")]
    remove = ["remove", sshd["url"], "--root", str(root), "-i", sshd["user_key"],
              "--known-hosts", sshd["known"]]
    try:
        r = node(*add)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "answers: ok" in r.stdout, r.stdout
        assert "cluster: in jern nodes as n1 with labels" in r.stdout, r.stdout
        unit = (root / "etc/systemd/system/jern.service").read_text()
        assert f"--cluster {etcd} --node n1 --advertise {N1} --label region=eu " \
               "--label disk=ssd\n" in unit, unit
        # the other node sees it, with its labels
        n1 = wait_for(lambda: nodes0().get("n1"), 10, "n1 in n0's jern nodes")
        assert n1["labels"] == {"region": "eu", "disk": "ssd"} and not n1["draining"], n1
        r = jern0("nodes")
        assert r.returncode == 0 and "disk=ssd" in r.stdout, r.stdout + r.stderr

        # a second run changes nothing
        pid = (root / "run/jern.pid").read_text().strip()
        r = node(*add)
        assert r.returncode == 0 and "node n1: nothing to change" in r.stdout, \
            r.stdout + r.stderr
        assert (root / "run/jern.pid").read_text().strip() == pid

        # an app spread over both nodes; remove moves n1's instance first
        r = jern0("deploy", "web", "--cmd", TESTAPP, "--instances", "2")
        assert r.returncode == 0, r.stdout + r.stderr
        wait_for(lambda: where0("web") == ["n0", "n1"], 60, "web on n0 and n1")
        wait_for(lambda: subprocess.run(
            ["curl", "-sf", "-o", "/dev/null", "-H", "Host: web.localhost",
             f"http://{N0}:{port0}/"]).returncode == 0, 20, "web through n0")
        load = Load(port0, "web", 120)
        r = node(*remove, timeout=180)
        load.join()
        out = r.stdout + r.stderr
        assert r.returncode == 0, out
        assert "drain: node n1 drained" in r.stdout, out
        assert "its instances run on the other nodes now" in r.stdout, out
        assert "stopped" in r.stdout, out
        assert r.stdout.index("drain:") < r.stdout.index("stopped"), out
        print(f"remove under load: {load.ok} requests answered, {load.failed} failed "
              f"{load.errors[:5]}")
        assert load.ok > 0 and load.failed == 0, load.errors[:5]
        wait_for(lambda: where0("web") == ["n0", "n0"], 30, "web on n0 only")
        wait_for(lambda: "n1" not in nodes0(), 15, "n1 gone from jern nodes (lease)")

        # joining again takes it out of the drain
        r = node(*add)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "was drained" in r.stdout and "cluster: in jern nodes as n1" in r.stdout, r.stdout
        assert not wait_for(lambda: nodes0().get("n1"), 10, "n1 back")["draining"]

        # an app only n1 may run: the drain cannot finish, so nothing is stopped
        r = jern0("apps", "set", "eu", "--require", "region=eu")
        assert r.returncode == 0, r.stderr
        r = jern0("deploy", "eu", "--cmd", TESTAPP, "--instances", "1")
        assert r.returncode == 0, r.stdout + r.stderr
        wait_for(lambda: where0("eu") == ["n1"], 60, "eu on n1")
        pid = (root / "run/jern.pid").read_text().strip()
        r = node(*remove, "--drain-timeout", "3")
        assert r.returncode == 1, r.stdout + r.stderr
        # (web's instance may still be on its way to n0: 1 or 2 left)
        assert re.search(r"still runs [12] instance\(s\) after 3 s of drain", r.stderr) and \
            "--no-drain" in r.stderr, r.stderr
        assert (root / "run/jern.pid").read_text().strip() == pid
        os.kill(int(pid), 0)
        assert nodes0()["n1"]["draining"]
        # the drain keeps the instance no other node may run (past the 3 s linger)
        end = time.time() + 6
        while time.time() < end:
            assert where0("eu") == ["n1"], "the drain stopped an app no other node may run"
            time.sleep(0.5)
    finally:
        r = node(*remove, "--no-drain")
        kill_instances(root / "var/lib/jern")
        kill_instances(d0 / "state")
    assert r.returncode == 0 and "drain: skipped (--no-drain)" in r.stdout, r.stdout + r.stderr
    assert not (root / "run/jern.pid").exists()
