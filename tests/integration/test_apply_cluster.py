"""jern plan / apply on a cluster (docs/APPLY.md): a jern.yaml's node labels
and apps' placement (require / prefer) are planned field by field and applied
through the admin API, on a real etcd with two `jern serve` nodes (a on
127.0.0.23, b on 127.0.0.24). Moving a label in the file moves the app."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import JERN, TESTAPP, free_port, wait_port
from pathlib import Path
from test_node_cluster import etcd, kill_instances, wait_for  # noqa: F401 (etcd: the fixture)

pytestmark = pytest.mark.skipif(not shutil.which("etcd"), reason="etcd-server not installed")

ROOT = Path(__file__).resolve().parents[2]
ADDRS = {"a": "127.0.0.23", "b": "127.0.0.24"}

FILE = """version: 1
nodes:
  a:
    labels: {{tier: {a_tier}}}
  b:
    labels: {{tier: {b_tier}, disk: ssd}}
  c:
    ssh: ssh://root@192.0.2.9
    labels: {{tier: std}}
apps:
  shop:
    command: {app}
    workdir: {root}
    instances: 1
    require: {{tier: gold}}
    prefer: {{disk: ssd}}
"""


@pytest.fixture
def two_nodes(etcd, procs, tmp_path):  # noqa: F811
    states, daemons = {}, []
    for name, addr in ADDRS.items():
        d = tmp_path / name
        d.mkdir()
        port = free_port()
        (d / "jern.conf").write_text(f"jern {{ listen {addr}:{port}; state_dir {d}/state; }}\n")
        daemons.append(procs.start([JERN, "serve", "-c", d / "jern.conf", "--cluster", etcd,
                                    "--node", name, "--advertise", addr, "--label", "tier=std"],
                                   name=f"serve-{name}"))
        wait_port(port, host=addr, timeout=20)
        states[name] = d / "state"
    try:
        yield states
    finally:
        # the daemons first: a supervisor still running restarts what is killed
        for p in daemons:
            p.stop()
        for s in states.values():
            kill_instances(s)


def jern(states, node, *args, **kw):
    env = dict(os.environ, JERN_ADMIN=str(states[node] / "admin.sock"))
    return subprocess.run([JERN, *args], env=env, capture_output=True, text=True, timeout=120,
                          **kw)


def nodes(states, node="a"):
    r = jern(states, node, "nodes", "--json")
    return {n["name"]: n["labels"] for n in json.loads(r.stdout)["nodes"]} \
        if r.returncode == 0 else {}


def where(states, app):
    r = jern(states, "a", "where", app, "--json")
    apps = json.loads(r.stdout)["apps"] if r.returncode in (0, 3) else []
    return sorted(i["node"] for i in apps[0]["items"] if i["kind"] == "instance") if apps else []


def test_apply_sets_node_labels_and_placement(two_nodes, tmp_path):
    states = two_nodes
    wait_for(lambda: len(nodes(states)) == 2, 20, "two nodes in jern nodes")
    f = tmp_path / "jern.yaml"
    f.write_text(FILE.format(a_tier="std", b_tier="gold", app=TESTAPP, root=ROOT))

    r = jern(states, "a", "plan", "-f", str(f))
    out = r.stdout + r.stderr
    assert r.returncode == 2, out
    assert '~ node b (update)\n    labels.tier: "std" -> "gold"\n    labels.disk: + "ssd"\n' \
        in r.stdout, out
    assert "~ node a" not in r.stdout, out  # its labels match the file
    assert "! node c (note)" in r.stdout and "jern node add ssh://root@192.0.2.9" in r.stdout, out
    assert "+ app shop (create)" in r.stdout, out
    assert "    require: tier=gold\n    prefer: disk=ssd\n" in r.stdout, out
    assert "Plan: 1 to create, 1 to update, 0 to delete." in r.stdout, out

    r = jern(states, "a", "apply", "-f", str(f))
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert r.stdout.index("node b: setting its labels") < r.stdout.index("app shop: placement"), out
    assert nodes(states)["b"] == {"tier": "gold", "disk": "ssd"}
    wait_for(lambda: where(states, "shop") == ["b"], 60, "shop on b")
    # a second plan, from either node, finds nothing to change
    for node in ("a", "b"):
        r = jern(states, node, "plan", "-f", str(f))
        assert r.returncode == 0, r.stdout + r.stderr
        assert "No changes" in r.stdout, r.stdout

    # gold moves from b to a: only the labels change, and the app follows them
    f.write_text(FILE.format(a_tier="gold", b_tier="std", app=TESTAPP, root=ROOT))
    r = jern(states, "a", "plan", "-f", str(f))
    out = r.stdout + r.stderr
    assert r.returncode == 2, out
    assert '~ node a (update)\n    labels.tier: "std" -> "gold"\n' in r.stdout, out
    assert '~ node b (update)\n    labels.tier: "gold" -> "std"\n' in r.stdout, out
    assert "~ app shop" not in r.stdout and "+ app shop" not in r.stdout, out
    r = jern(states, "b", "apply", "-f", str(f))
    assert r.returncode == 0, r.stdout + r.stderr
    wait_for(lambda: where(states, "shop") == ["a"], 60, "shop moved to a")
    assert nodes(states, "b") == {"a": {"tier": "gold"}, "b": {"tier": "std", "disk": "ssd"}}
    r = jern(states, "a", "plan", "-f", str(f))
    assert r.returncode == 0 and "No changes" in r.stdout, r.stdout + r.stderr

    # the placement is the file's: dropping prefer clears it
    f.write_text(FILE.format(a_tier="gold", b_tier="std", app=TESTAPP, root=ROOT)
                 .replace("    prefer: {disk: ssd}\n", ""))
    r = jern(states, "a", "plan", "-f", str(f))
    assert r.returncode == 2 and "~ app shop (update)\n    prefer: disk=ssd -> (none)\n" \
        in r.stdout, r.stdout + r.stderr
    r = jern(states, "a", "apply", "-f", str(f))
    assert r.returncode == 0, r.stdout + r.stderr
    r = jern(states, "a", "plan", "-f", str(f))
    assert r.returncode == 0, r.stdout + r.stderr

    # export writes the nodes' labels and the placement back: planning it changes nothing
    exported = tmp_path / "exported.yaml"
    r = jern(states, "a", "export", "-o", str(exported))
    assert r.returncode == 0, r.stderr
    text = exported.read_text()
    assert 'nodes:\n  a:\n    labels:\n      tier: "gold"\n' in text and "require:" in text, text
    r = jern(states, "a", "plan", "-f", str(exported))
    assert r.returncode == 0 and "No changes" in r.stdout, r.stdout + r.stderr
