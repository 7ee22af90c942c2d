"""A jern cluster on a three-member etcd (docs/CLUSTER.md, "Failures"): the
members on free loopback ports, three `jern serve` nodes on 127.0.0.12-14
(apart from test_cluster.py's addresses, so both files may run at once),
each given every member in --cluster with the etcd leader first. Killing the
etcd leader (kill -9) must leave the jern cluster whole: traffic answered,
leases kept, control changes accepted and the scheduler placing them."""
import json
import shutil
import time
import urllib.request

import pytest

from conftest import TESTAPP
from test_cluster import Cluster, Load, wait_for

pytestmark = pytest.mark.skipif(not shutil.which("etcd"), reason="etcd-server not installed")

NODES = [("e1", "127.0.0.12", "NO"), ("e2", "127.0.0.13", "NO"), ("e3", "127.0.0.14", "SE")]


def member_status(url):
    """etcd's own status of one member: (its id, the leader's id), or None."""
    req = urllib.request.Request(url + "/v3/maintenance/status", data=b"{}",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=2) as r:
            st = json.loads(r.read())
    except OSError:
        return None
    return st["header"]["member_id"], st.get("leader")


def leader_index(c, alive=None):
    """The index of the member that leads, as its peers see it (None if none)."""
    for i, url in enumerate(c.urls):
        if alive is not None and i not in alive:
            continue
        st = member_status(url)
        if st and st[0] == st[1]:
            return i
    return None


def placed(c, node, app):
    r = c.jern(node, "where", app, "--json")
    if r.returncode not in (0, 3):
        return []
    apps = json.loads(r.stdout)["apps"]
    return sorted(i["node"] for i in apps[0]["items"] if i["kind"] == "instance") if apps else []


@pytest.fixture(scope="module")
def cluster3(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("cluster3"), nodes=NODES, members=3)
    try:
        c.start_etcd()
        lead = wait_for(lambda: leader_index(c) is not None and leader_index(c) + 1, 20,
                        "an etcd leader") - 1
        # every node talks to the leader first, so its death is a real failover
        order = [c.urls[lead]] + [u for i, u in enumerate(c.urls) if i != lead]
        for name, _, _ in NODES:
            c.start_node(name, etcd_url=",".join(order))
        wait_for(lambda: len(json.loads(c.jern("e3", "nodes", "--json").stdout)["nodes"]) == 3,
                 20, "three nodes in jern nodes")
        yield c
    finally:
        c.stop()


def test_killing_the_etcd_leader_leaves_the_cluster_working(cluster3):
    c = cluster3
    r = c.jern("e3", "apps", "set", "web", "--require", "jurisdiction=NO")
    assert r.returncode == 0, r.stderr
    r = c.jern("e3", "deploy", "web", "--cmd", TESTAPP, "--instances", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    wait_for(lambda: placed(c, "e3", "web") == ["e1", "e2"], 30, "web on e1 and e2")
    for node in ("e1", "e2", "e3"):
        wait_for(lambda: c.get(node, "web")[0] == 200, 10, f"web through {node}")

    lead = leader_index(c)
    assert lead is not None
    loads = [Load(c, node, "web", 12) for node in ("e1", "e2", "e3")]
    time.sleep(1)
    t0 = time.time()
    c.members[lead].p.kill()
    c.members[lead].p.wait()
    alive = [i for i in range(3) if i != lead]
    wait_for(lambda: leader_index(c, alive) is not None, 20, "a new etcd leader")
    print(f"etcd leader m{lead} killed: the other members elected a leader after "
          f"{time.time() - t0:.1f} s")

    # a control change goes through another member at once (no retries needed
    # once etcd has a leader), and the scheduler places what it asks for
    r = c.jern("e3", "scale", "web", "3")
    assert r.returncode == 0, r.stdout + r.stderr
    wait_for(lambda: sorted(set(placed(c, "e3", "web"))) == ["e1", "e2"] and
             len(placed(c, "e3", "web")) == 3, 30, "a third web instance on a NO node")
    r = c.jern("e1", "deploy", "api", "--cmd", TESTAPP, "--instances", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    wait_for(lambda: len(placed(c, "e2", "api")) == 1, 30, "api placed")
    wait_for(lambda: c.get("e3", "api")[0] == 200, 15, "api through e3")

    for ld in loads:
        ld.join()
    failed = sum(ld.failed for ld in loads)
    print(f"through the etcd leader's death: {sum(ld.ok for ld in loads)} requests answered, "
          f"{failed} failed {[e for ld in loads for e in ld.errors][:5]}")
    assert failed == 0
    # no node lost its lease meanwhile: all three still there, etcd reachable
    nodes = json.loads(c.jern("e2", "nodes", "--json").stdout)
    assert nodes["etcd"] is True
    assert sorted(n["name"] for n in nodes["nodes"]) == ["e1", "e2", "e3"]
    assert nodes["scheduler"] in ("e1", "e2", "e3")
