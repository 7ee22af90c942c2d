"""jern apply, deploy and scale on a cluster wait until what they changed is
placed and healthy (docs/APPLY.md, docs/CLUSTER.md): a request sent right
after they return is answered, through the node asked and the node that runs
the instances. A real etcd and two `jern serve` nodes: p (127.0.0.31,
tier=gold) and q (127.0.0.32, tier=std), each offering 2 GiB to instances.
The apps start slowly (a shell sleep before the test app), so a command that
returned before they run would be caught by the first request."""
import http.client
import json
import os
import re
import shutil
import subprocess
import time

from pathlib import Path

import pytest

from conftest import JERN, TESTAPP, Proc, free_port, wait_port
from test_node_cluster import kill_instances, wait_for

pytestmark = pytest.mark.skipif(not shutil.which("etcd"), reason="etcd-server not installed")

NODES = {"p": ("127.0.0.31", "tier=gold"), "q": ("127.0.0.32", "tier=std")}
SLOW = f"sleep 2; exec {TESTAPP}"  # 2 s before it listens
ROOT = Path(__file__).resolve().parents[2]  # a workdir the apps' user may enter


class Nodes:
    def __init__(self, tmp):
        self.tmp, self.procs, self.nodes = tmp, [], {}

    def start(self):
        cp, pp = free_port(), free_port()
        url, peer = f"http://127.0.0.1:{cp}", f"http://127.0.0.1:{pp}"
        self.procs.append(Proc(["etcd", "--data-dir", self.tmp / "etcd", "--listen-client-urls",
                                url, "--advertise-client-urls", url, "--listen-peer-urls", peer,
                                "--initial-advertise-peer-urls", peer, "--initial-cluster",
                                f"default={peer}"], self.tmp / "etcd.log"))
        wait_port(cp, timeout=20)
        for name, (addr, label) in NODES.items():
            d = self.tmp / name
            d.mkdir()
            port = free_port()
            (d / "jern.conf").write_text(
                f"jern {{ listen {addr}:{port}; state_dir {d}/state; node_memory 2g; }}\n")
            self.procs.append(Proc([JERN, "serve", "-c", d / "jern.conf", "--cluster", url,
                                    "--node", name, "--advertise", addr, "--label", label],
                                   d / "serve.log"))
            self.nodes[name] = {"addr": addr, "port": port, "state": d / "state"}
            wait_port(port, host=addr, timeout=20)
            wait_for(lambda: (d / "state" / "admin.sock").exists(), 20, f"{name}'s socket")
        wait_for(lambda: len(self.live()) == 2, 20, "two nodes in jern nodes")

    def stop(self):
        for p in reversed(self.procs):
            p.stop()
        for n in self.nodes.values():
            kill_instances(n["state"])

    def jern(self, node, *args, timeout=120):
        env = dict(os.environ, JERN_ADMIN=str(self.nodes[node]["state"] / "admin.sock"))
        return subprocess.run([JERN, *args], env=env, capture_output=True, text=True,
                              timeout=timeout, cwd=ROOT)

    def live(self):
        r = self.jern("p", "nodes", "--json")
        return [n["name"] for n in json.loads(r.stdout)["nodes"]] if r.returncode == 0 else []

    def get(self, node, app, path="/"):
        """One GET through node's gateway, no retry: (status, body)."""
        n = self.nodes[node]
        c = http.client.HTTPConnection(n["addr"], n["port"], timeout=5)
        try:
            c.request("GET", path, headers={"Host": f"{app}.localhost"})
            r = c.getresponse()
            return r.status, r.read().decode(errors="replace")
        except OSError as e:
            return 0, repr(e)
        finally:
            c.close()

    def where(self, app):
        r = self.jern("p", "where", app, "--json")
        apps = json.loads(r.stdout)["apps"] if r.returncode in (0, 3) else []
        return sorted((i["node"], i["release"]) for i in apps[0]["items"]
                      if i["kind"] == "instance") if apps else []


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Nodes(tmp_path_factory.mktemp("applywait"))
    try:
        c.start()
        yield c
    finally:
        c.stop()


def yaml(apps):
    out = "version: 1\napps:\n"
    for name, fields in apps.items():
        out += f"  {name}:\n    workdir: {ROOT}\n"
        out += "".join(f"    {k}: {v}\n" for k, v in fields.items())
    return out


def test_apply_returns_once_the_instances_answer(cluster, tmp_path):
    c = cluster
    f = tmp_path / "jern.yaml"
    apps = {"gold": {"command": json.dumps(SLOW), "instances": 1, "health": "/health",
                     "require": "{tier: gold}", "env": "{APP_NAME: gold}"},
            "spread": {"command": json.dumps(SLOW), "instances": 2, "health": "/health",
                       "env": "{APP_NAME: spread}"}}
    f.write_text(yaml(apps))
    t0 = time.time()
    r = c.jern("q", "apply", "-f", str(f))
    took = time.time() - t0
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    # right after apply: gold runs on p only and q's gateway sends to it;
    # spread has an instance on each node. No retry.
    for node, app in (("q", "gold"), ("p", "gold"), ("p", "spread"), ("q", "spread")):
        st, body = c.get(node, app)
        assert st == 200 and f"hello from {app}" in body, (node, app, st, body, out)
    assert "gold: 1/1 instance of v1 healthy (p: 1)" in r.stdout, out
    assert "spread: 2/2 instances of v1 healthy (p: 1, q: 1)" in r.stdout or \
        "spread: 2/2 instances of v1 healthy (q: 1, p: 1)" in r.stdout, out
    assert c.where("gold") == [("p", 1)] and c.where("spread") == [("p", 1), ("q", 1)]
    print(f"apply of two apps on a cluster returned after {took:.1f} s (shared machine)")

    # a scale in the file waits for the new instance too
    apps["spread"]["instances"] = 3
    f.write_text(yaml(apps))
    r = c.jern("p", "apply", "-f", str(f))
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "app spread: scaling to 3" in r.stdout, out
    assert "spread: 3/3 instances of v1 healthy" in r.stdout, out
    assert len(c.where("spread")) == 3, c.where("spread")

    # jern deploy on a cluster node waits the same way: the new release
    # answers through both gateways as soon as it returns
    r = c.jern("q", "deploy", "gold", "--cmd", SLOW, "--health", "/health", "--env",
               "APP_NAME=gold", "--env", "APP_VERSION=two")
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "release v2 recorded in the cluster" in r.stdout, out
    assert "gold: 1/1 instance of v2 healthy (p: 1)" in r.stdout, out
    for node in ("q", "p"):
        st, body = c.get(node, "gold")
        assert st == 200 and "hello from gold two" in body, (node, st, body, out)
    # and jern scale
    r = c.jern("p", "scale", "spread", "1")
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "spread: " in r.stdout and "/1 instance of v1 healthy" \
        in r.stdout, out
    r = c.jern("p", "scale", "spread", "1", "--wait-timeout", "0")
    assert r.returncode == 2 and "--wait-timeout needs a duration above 0" in r.stderr, r.stderr


def test_apply_fails_with_the_placement_error(cluster, tmp_path):
    c = cluster
    f = tmp_path / "jern.yaml"
    # no node has 3 GiB to give: the scheduler records why, and apply says it
    f.write_text(yaml({"huge": {"command": json.dumps(SLOW), "instances": 1,
                                "memory": "3g"}}))
    t0 = time.time()
    r = c.jern("p", "apply", "-f", str(f), "--wait-timeout", "5s")
    took = time.time() - t0
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "jern: huge: 0 of 1 instance(s) of v1 healthy after 5s: only 0 of 1 instances of " \
        "app 'huge' fit: the nodes with its labels (any) lack memory" in r.stderr, out
    assert "huge: not placed yet: only 0 of 1" in r.stdout, out
    assert "apply stopped at app huge" in r.stderr, out
    assert took < 60, took
    # a requirement no live node meets is refused before anything is recorded
    f.write_text(yaml({"dk": {"command": json.dumps(SLOW), "instances": 1,
                              "require": "{tier: platinum}"}}))
    r = c.jern("p", "apply", "-f", str(f))
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "no live node has the labels app 'dk' requires (tier=platinum)" in r.stderr, out
    assert "apply stopped at app dk" in r.stderr, out
    # placed, but its instance never comes up healthy: the node is named
    r = c.jern("p", "deploy", "broken", "--cmd", "exit 1", "--wait-timeout", "5")
    out = r.stdout + r.stderr
    assert r.returncode == 1 and "release v1 recorded in the cluster" in r.stdout, out
    assert re.search(r"jern: broken: 0 of 1 instance\(s\) of v1 healthy after 5s: node [pq] "
                     r"has 0 healthy, 1 placed there \(a start failing there\? see: jern logs "
                     r"broken", r.stderr), out


def test_no_wait_returns_at_once(cluster, tmp_path):
    c = cluster
    f = tmp_path / "jern.yaml"
    # 8 s before it listens: an apply that waited could not return before
    f.write_text(yaml({"later": {"command": json.dumps(f"sleep 8; exec {TESTAPP}"),
                                 "instances": 1, "env": "{APP_NAME: later}"}}))
    t0 = time.time()
    r = c.jern("p", "apply", "-f", str(f), "--no-wait")
    took = time.time() - t0
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "app 'later' release v1 recorded in the cluster" in r.stdout, out
    assert "healthy" not in r.stdout, out
    assert took < 8, took
    st, _ = c.get("p", "later")
    assert st != 200, st
    # it comes up by itself afterwards
    wait_for(lambda: c.get("p", "later")[0] == 200, 60, "later served")
