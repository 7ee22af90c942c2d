"""Autoscaling on a cluster (docs/CLUSTER.md, "Autoscaling"): three `jern
serve` nodes on 127.0.0.52-54 and a real etcd. `jern scale APP --min 0` on one
node autoscales the app cluster-wide: it goes to zero when no gateway saw a
request for --idle, the first request through any node's gateway starts an
instance somewhere and is answered, and the concurrency every gateway sees
adds instances across the nodes, and takes them away again."""
import http.client
import json
import shutil
import threading
import time

import pytest

from conftest import TESTAPP
from test_cluster import Cluster, wait_for

pytestmark = pytest.mark.skipif(not shutil.which("etcd"), reason="etcd-server not installed")

NODES = [("a1", "127.0.0.52", "NO"), ("a2", "127.0.0.53", "NO"), ("a3", "127.0.0.54", "NO")]


def get(c, node, path, timeout=40):
    n = c.nodes[node]
    h = http.client.HTTPConnection(n["addr"], n["port"], timeout=timeout)
    try:
        h.request("GET", path, headers={"Host": "as1.localhost"})
        r = h.getresponse()
        return r.status, r.read()
    finally:
        h.close()


def instances(c, via="a1"):
    return sorted(i["node"] for i in c.where(via, "as1") if i.get("healthy", True))


def start(tmp_path):
    """etcd, the three nodes and as1 deployed with one instance; the caller
    stops c."""
    c = Cluster(tmp_path, nodes=NODES)
    try:
        c.start_etcd()
        for name, _, _ in NODES:
            c.start_node(name)
        wait_for(lambda: len(json.loads(c.jern("a1", "nodes", "--json").stdout)["nodes"]) == 3,
                 20, "three nodes")
        r = c.jern("a1", "deploy", "as1", "--cmd", TESTAPP, "--instances", "1", timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
    except BaseException:
        c.stop()
        raise
    return c


def test_scale_to_zero_wake_on_any_node_and_scale_out_across_nodes(tmp_path):
    c = start(tmp_path)
    try:
        # warm is a single node's setting
        r = c.jern("a2", "scale", "as1", "--min", "0", "--max", "3", "--warm")
        assert r.returncode == 1 and "single-node setting" in r.stderr, r.stdout + r.stderr
        t0 = time.time()
        r = c.jern("a2", "scale", "as1", "--min", "0", "--max", "3", "--idle", "3s",
                   "--concurrency", "2", "--stable-window", "4s", "--panic-window", "1s")
        assert r.returncode == 0, r.stdout + r.stderr
        # no request anywhere for 3 s: zero instances on every node
        wait_for(lambda: instances(c) == [], 40, "as1 at zero")
        print(f"\nscaled to zero {time.time() - t0:.1f}s after autoscaling was set (idle 3s)")
        # every node's gateway holds the first request and an instance starts
        # right after the scale to zero the last instance's node keeps it up
        # 3 s for other gateways (its linger): a request then takes it back
        # into service, or starts one on another node; later, a cold start
        for node, pause in (("a3", 0), ("a1", 3.5), ("a2", 0.5)):
            time.sleep(pause)
            t0 = time.time()
            st, body = get(c, node, "/")
            took = time.time() - t0
            assert st == 200, (node, st, body)
            print(f"start from zero through {node}'s gateway {pause}s after it: "
                  f"answered in {took:.2f}s")
            wait_for(lambda: len(instances(c)) == 1, 10, "one instance in jern where")
            wait_for(lambda: instances(c) == [], 40, "as1 at zero again")
        # load through two gateways: 8 requests in flight (concurrency 2 per
        # instance wants 4, max 3): instances on every node, no request fails
        stop = time.time() + 12
        counts = {"ok": 0, "failed": 0}
        lock = threading.Lock()

        def load(node):
            while time.time() < stop:
                try:
                    st, _ = get(c, node, "/slow?ms=200")
                except OSError:
                    st = 0
                with lock:
                    counts["ok" if st == 200 else "failed"] += 1

        threads = [threading.Thread(target=load, args=(n,)) for n in ("a1", "a2") * 4]
        t0 = time.time()
        for t in threads:
            t.start()
        wait_for(lambda: len(instances(c)) == 3, 30, "three instances under load")
        print(f"scaled out to 3 instances {time.time() - t0:.1f}s into the load: "
              f"{sorted(set(instances(c)))}")
        assert sorted(set(instances(c))) == ["a1", "a2", "a3"]  # spread
        for t in threads:
            t.join(60)
        print(f"load: {counts['ok']} answered, {counts['failed']} failed")
        assert counts["failed"] == 0 and counts["ok"] > 100, counts
        # the scheduler's decision is visible on any node
        ps = json.loads(c.jern("a3", "ps", "as1", "--json").stdout)
        assert "autoscale" in json.dumps(ps), ps
        # the load is over: back to zero
        t0 = time.time()
        wait_for(lambda: instances(c) == [], 60, "as1 at zero after the load")
        print(f"back to zero {time.time() - t0:.1f}s after the load ended")
        # a fixed count turns autoscaling off everywhere
        r = c.jern("a3", "scale", "as1", "2", timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        time.sleep(6)  # longer than idle: a fixed count stays
        assert len(instances(c)) == 2 and len(set(instances(c))) == 2, instances(c)
    finally:
        c.stop()


def test_the_schedulers_node_dies_and_another_goes_on_autoscaling(tmp_path):
    """Autoscaling is the scheduler's work: kill -9 of the scheduler's node
    (its daemon and its instances) while the app sits at zero. Once the dead
    node's lease expires another node schedules: a request through a
    surviving gateway starts an instance on a survivor and is answered, and
    the app goes back to zero after --idle, as before."""
    c = start(tmp_path)
    try:
        r = c.jern("a2", "scale", "as1", "--min", "0", "--max", "2", "--idle", "4s")
        assert r.returncode == 0, r.stdout + r.stderr
        wait_for(lambda: instances(c) == [], 40, "as1 at zero")
        sched = json.loads(c.jern("a1", "nodes", "--json").stdout)["scheduler"]
        assert sched in c.nodes, sched
        c.kill_node(sched)
        survivors = [n for n in c.nodes if n != sched]
        t0 = time.time()
        st, body = get(c, survivors[0], "/", timeout=60)
        took = time.time() - t0
        assert st == 200, (st, body)
        print(f"\nscheduler {sched} killed at zero: the first request through "
              f"{survivors[0]} answered in {took:.2f}s (the dead node's lease first expires)")
        placed = wait_for(lambda: instances(c, survivors[1]), 10, "the instance in jern where")
        assert set(placed) <= set(survivors), placed
        assert json.loads(c.jern(survivors[1], "nodes", "--json").stdout)["scheduler"] \
            in survivors
        wait_for(lambda: instances(c, survivors[1]) == [], 40,
                 "as1 at zero under the new scheduler")
        st, _ = get(c, survivors[1], "/")
        assert st == 200
    finally:
        c.stop()
