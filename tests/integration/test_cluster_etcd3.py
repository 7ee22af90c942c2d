"""A jern cluster on a three-member etcd (docs/CLUSTER.md, "Failures"): the
members on free loopback ports, three `jern serve` nodes on 127.0.0.12-14
(apart from test_cluster.py's addresses, so both files may run at once),
each given every member in --cluster with the etcd leader first. Killing the
etcd leader (kill -9) must leave the jern cluster whole: traffic answered,
leases kept, control changes accepted and the scheduler placing them. Then,
on the same cluster, jern where's databases and backups, and what happens
when a node's labels change under an app's data."""
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, TESTAPP, free_port
from test_cluster import Cluster, Load, kill_mariadbd, wait_for

pytestmark = pytest.mark.skipif(not shutil.which("etcd"), reason="etcd-server not installed")

DBAPP = f"/usr/bin/python3 {ROOT / 'tests' / 'app' / 'dbapp.py'}"
NODES = [("e1", "127.0.0.12", "jurisdiction=NO,site=b"), ("e2", "127.0.0.13", "jurisdiction=NO,site=b"),
         ("e3", "127.0.0.14", "jurisdiction=SE,site=a")]


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


def metrics(c, node):
    r = subprocess.run(["curl", "-s", "--unix-socket", str(c.nodes[node]["state"] / "admin.sock"),
                        "http://jern/metrics"], capture_output=True, text=True, timeout=10)
    return r.stdout


def violations(c, node, app):
    m = re.search(r'^jern_placement_violations\{app="%s"\} (\d+)$' % app, metrics(c, node), re.M)
    return int(m.group(1)) if m else None


def where_items(c, node, app):
    r = c.jern(node, "where", app, "--json")
    assert r.returncode in (0, 3), r.stderr
    return r.returncode, json.loads(r.stdout)["apps"][0]["items"]


@pytest.mark.skipif(not shutil.which("mariadbd"), reason="mariadb-server is not installed")
def test_where_lists_databases_and_backups_and_flags_a_label_change(cluster3):
    c = cluster3
    state = c.nodes["e1"]["state"]
    try:
        r = c.jern("e1", "db", "create", "webdb", "--node", "e1", "--memory", "256M", "--port",
                   str(free_port()), timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        r = c.jern("e1", "db", "attach", "webdb", "web", timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        r = c.jern("e1", "db", "backup", "webdb", timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr

        def db_rows():
            rc, items = where_items(c, "e3", "web")
            rows = {(i["kind"], i["node"], i["inside"]) for i in items}
            return {("database", "e1", True), ("backups", "e1", True)} <= rows
        wait_for(db_rows, 15, "webdb and its backup in jern where web: " +
                 c.jern("e3", "where", "web").stdout)
        out = c.jern("e2", "where", "web").stdout
        assert "webdb (STATE/db/webdb)" in out and "1 of webdb" in out, out
        # what is outside so far: only the access log of e3's gateway (SE),
        # which answered web's requests above
        rc, items = where_items(c, "e3", "web")
        outside = [(i["kind"], i["node"]) for i in items if not i["inside"]]
        assert outside == [("access-log", "e3")], items
        assert rc == 3 and violations(c, "e3", "web") == 1
        # a requirement that webdb's node lacks is refused while it is attached
        r = c.jern("e3", "apps", "set", "web", "--require", "jurisdiction=SE")
        assert r.returncode == 1 and "attached to database 'webdb' on node e1" in r.stderr, \
            r.stdout + r.stderr

        # e1's labels change (restarted as an SE node): its logs sit where web
        # must not be, its instances move to e2, and the scheduler moves webdb
        # to e2 (a consistent copy, then web's instances switched to it): no
        # copy of it stays on e1
        c.nodes["e1"]["proc"].stop()
        c.table["e1"] = ("127.0.0.12", "jurisdiction=SE,site=a")
        c.start_node("e1", etcd_url=c.etcd_url)
        wait_for(lambda: placed(c, "e3", "web") == ["e2", "e2", "e2"], 40,
                 "web's instances moved off e1")

        def db_on_e2():
            rc, items = where_items(c, "e3", "web")
            dbs = {(i["kind"], i["node"], i["inside"]) for i in items
                   if i["kind"] in ("database", "backups")}
            return dbs == {("database", "e2", True), ("backups", "e2", True)}
        wait_for(db_on_e2, 90, "webdb moved to e2: " + c.jern("e3", "where", "web").stdout)
        assert not (state / "db" / "webdb").exists()
        assert not list((state / "db-archive").glob("webdb-*")) if (state / "db-archive").exists() \
            else True
        out = c.jern("e2", "db", "backups", "webdb").stdout
        assert "-moved" in out, out
        rc, items = where_items(c, "e3", "web")
        outside = {(i["kind"], i["node"]) for i in items if not i["inside"]}
        assert rc == 3 and outside and all(k in ("logs", "access-log") for k, _ in outside), items
        assert all(i["inside"] for i in items if i["kind"] == "instance")
        wait_for(lambda: violations(c, "e3", "web") == len(outside), 10,
                 "jern_placement_violations matching jern where")
        out = c.jern("e3", "where", "web").stdout
        assert "SOMETHING OUTSIDE the required labels" in out, out
        wait_for(lambda: c.get("e1", "web")[0] == 200, 10, "web through e1's gateway")
        # and no new data of a NO app goes to the SE node
        assert c.jern("e1", "apps", "set", "api", "--require", "jurisdiction=NO").returncode == 0
        r = c.jern("e1", "db", "create", "sedb", "--node", "e1", "--memory", "256M", "--port",
                   str(free_port()), timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        r = c.jern("e1", "db", "attach", "sedb", "api")
        assert r.returncode == 1 and "refused: app 'api' requires the labels" in r.stderr, \
            r.stdout + r.stderr
        assert "jern db move sedb --to NODE; such nodes: e2" in r.stderr, r.stderr
    finally:
        for n in ("e1", "e2"):
            for db in ("webdb", "sedb"):
                c.jern(n, "db", "destroy", db, "--force", timeout=60)
        kill_mariadbd(state)


def test_a_gateway_without_instances_prefers_its_own_site(cluster3):
    """e3 (site a) runs no instance of near; e1 (site a since its restart)
    and e2 (site b) run one each: e3's gateway sends near's requests to e1's,
    e2's is its backup."""
    c = cluster3
    assert c.jern("e3", "node", "drain", "e3").returncode == 0
    try:
        r = c.jern("e3", "deploy", "near", "--cmd", TESTAPP, "--instances", "2")
        assert r.returncode == 0, r.stdout + r.stderr
        wait_for(lambda: placed(c, "e3", "near") == ["e1", "e2"], 30, "near on e1 and e2")
        _, items = where_items(c, "e3", "near")
        port = {i["node"]: i["where"].rsplit(":", 1)[1] for i in items if i["kind"] == "instance"}
        wait_for(lambda: c.get("e3", "near", "/env/PORT")[1].decode() == port["e1"], 10,
                 "near through e3")
        answers = [c.get("e3", "near", "/env/PORT")[1].decode() for _ in range(40)]
        assert answers == [port["e1"]] * 40, (port, answers)
        # e2 runs one: its own instance first
        seen = {c.get("e2", "near", "/env/PORT")[1].decode() for _ in range(40)}
        assert seen == {port["e2"]}, seen
    finally:
        c.jern("e3", "node", "undrain", "e3")


def db_app_on_e1(c, db, app):
    """A database on e1 and app (two dbapp.py instances on the site=a nodes)
    attached to it."""
    r = c.jern("e1", "db", "create", db, "--node", "e1", "--memory", "256M", "--port",
               str(free_port()), timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert c.jern("e1", "apps", "set", app, "--require", "site=a").returncode == 0
    r = c.jern("e1", "deploy", app, "--cmd", DBAPP, "--instances", "2", "--health", "/health",
               timeout=150)
    assert r.returncode == 0, r.stdout + r.stderr
    r = c.jern("e1", "db", "attach", db, app, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    wait_for((c.nodes["e3"]["state"] / "db" / "env" / app).exists, 15,
             f"{app}'s database settings on e3")


@pytest.mark.skipif(not shutil.which("mariadbd"), reason="mariadb-server is not installed")
def test_an_app_reaches_its_database_from_every_node(cluster3):
    """A database lives on e1; the app attached to it runs on e1 and e3 (both
    site=a since e1's restart): e3's instance reaches it at e1's address with
    the credentials e1 made, and a detach on e1 takes them away on e3."""
    c = cluster3
    state = c.nodes["e1"]["state"]
    env = c.nodes["e3"]["state"] / "db" / "env" / "shop"
    try:
        db_app_on_e1(c, "shopdb", "shop")
        assert placed(c, "e3", "shop") == ["e1", "e3"]
        text = env.read_text()
        assert "MYSQL_HOST=127.0.0.12\n" in text and "#node=e1\n" in text, text
        assert env.stat().st_mode & 0o777 == 0o600
        # one restart, cluster-wide: every instance starts again with them
        r = c.jern("e3", "restart", "shop", timeout=150)
        assert r.returncode == 0, r.stdout + r.stderr
        # e3's gateway sends to e3's own instance, which writes into shopdb on e1
        for i in range(5):
            st, body = c.post("e3", "shop", f"/rows?v=e3-{i}")
            assert st == 201, body
        st, body = c.get("e1", "shop", "/rows")
        assert st == 200 and json.loads(body)["count"] == 5, body
        assert json.loads(c.get("e3", "shop", "/db")[1])["database"] == "shop"
        r = c.jern("e1", "db", "detach", "shopdb", "shop")
        assert r.returncode == 0, r.stdout + r.stderr
        wait_for(lambda: not env.exists(), 15, "shop's settings gone from e3")
    finally:
        c.jern("e1", "destroy", "shop", "--yes")
        c.jern("e1", "db", "destroy", "shopdb", "--force", timeout=60)
        kill_mariadbd(state)


@pytest.mark.skipif(not shutil.which("mariadbd"), reason="mariadb-server is not installed")
def test_a_database_moves_to_another_node_and_keeps_every_acknowledged_write(cluster3):
    """jern db move under a steady stream of writes through e3's gateway:
    the database is copied to e3 while it is read-only (writes then fail
    with an error, never silently), the app's instances are switched to the
    copy, and every write that was answered 201 is in it afterwards."""
    c = cluster3
    e1_state, e3_state = c.nodes["e1"]["state"], c.nodes["e3"]["state"]
    try:
        # e1 and e3 are both site=a since e1's restart
        db_app_on_e1(c, "mvdb", "mv")
        r = c.jern("e3", "restart", "mv", timeout=150)
        assert r.returncode == 0, r.stdout + r.stderr
        wait_for(lambda: c.post("e3", "mv", "/rows?v=warm")[0] == 201, 20, "a first write")

        # refused: a node without the labels mv requires, and a node not there
        r = c.jern("e3", "db", "move", "mvdb", "--to", "e2")
        assert r.returncode == 1 and "requires the labels site=a, which node e2 lacks" in \
            r.stderr, r.stdout + r.stderr
        r = c.jern("e3", "db", "move", "mvdb", "--to", "e9")
        assert r.returncode == 1 and "node 'e9' is not in the cluster" in r.stderr, r.stderr

        acked, refused, stop = [], [], threading.Event()

        def writer():
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    st, body = c.post("e3", "mv", f"/rows?v=w{i}")
                except OSError:
                    refused.append(time.time())
                    continue
                if st == 201:
                    acked.append(json.loads(body)["id"])
                else:
                    refused.append(time.time())
                time.sleep(0.01)
        t = threading.Thread(target=writer)
        t.start()
        try:
            time.sleep(1)
            t0 = time.time()
            r = c.jern("e2", "db", "move", "mvdb", "--to", "e3", timeout=300)
            took = time.time() - t0
            assert r.returncode == 0, r.stdout + r.stderr
            assert "moved database mvdb to node e3" in r.stdout, r.stdout
            n_before = len(acked)
            wait_for(lambda: len(acked) > n_before + 20, 30, "writes going on after the move")
        finally:
            stop.set()
            t.join(30)
        span = refused[-1] - refused[0] if refused else 0
        print(f"\nmove: {took:.1f}s, {len(acked)} writes acknowledged, {len(refused)} refused "
              f"(an error answered) over {span:.1f}s while read-only or switching")
        # the copy serves on e3; nothing of it is left on e1
        assert not (e1_state / "db" / "mvdb").exists()
        assert "mvdb" in c.jern("e3", "db", "ls").stdout
        # e1 lists it as another node's
        assert re.search(r"mvdb\s+on e3\b", c.jern("e1", "db", "ls").stdout)
        env = (e1_state / "db" / "env" / "mv").read_text()
        assert "MYSQL_HOST=127.0.0.14\n" in env and "#node=e3\n" in env, env
        # the old copy's backups, archived on e1 (a manual move), are in jern where

        def archived():
            _, items = where_items(c, "e2", "mv")
            return [(i["node"], i["inside"]) for i in items
                    if i["kind"] == "backups" and "archived" in i["where"]]
        wait_for(lambda: archived() == [("e1", True)], 10,
                 "mvdb's archived backups on e1 in jern where: " + str(archived()))
        # every acknowledged write is there
        st, body = c.get("e1", "mv", "/rows")
        assert st == 200, body
        ids = set(json.loads(body)["ids"])
        missing = [i for i in acked if i not in ids]
        assert not missing, f"{len(missing)} acknowledged writes lost: {missing[:10]}"
        r = c.jern("e3", "db", "move", "nodb", "--to", "e1")
        assert r.returncode == 1 and "no node of the cluster has a database 'nodb'" in r.stderr

        # draining e3 moves its workloads away: mv's instances and mvdb (to
        # e1, the other site=a node), reads answered all along
        reads = {"ok": 0, "failed": []}
        stop.clear()

        def reader():
            while not stop.is_set():
                try:
                    st, _ = c.get("e2", "mv", "/rows")
                except OSError as e:
                    st = str(e)
                if st == 200:
                    reads["ok"] += 1
                else:
                    reads["failed"].append(st)
                time.sleep(0.02)
        t = threading.Thread(target=reader)
        t.start()
        try:
            assert c.jern("e2", "node", "drain", "e3").returncode == 0
            wait_for(lambda: json.loads(c.jern("e2", "db", "move", "mvdb", "--json").stdout)
                     == {"move": None, "nodes": ["e1"]}, 90, "mvdb moved off the drained e3")
            wait_for(lambda: placed(c, "e2", "mv") == ["e1", "e1"], 30, "mv's instances on e1")
            time.sleep(1)
        finally:
            stop.set()
            t.join(30)
        print(f"drain of e3 with mvdb on it: {reads['ok']} reads answered, "
              f"{len(reads['failed'])} failed {reads['failed'][:5]}")
        assert reads["failed"] == [] and reads["ok"] > 50, reads
        st, body = c.get("e1", "mv", "/rows")
        assert set(acked) <= set(json.loads(body)["ids"])
        assert not (e3_state / "db" / "mvdb").exists()
    finally:
        c.jern("e2", "node", "undrain", "e3")
        c.jern("e1", "destroy", "mv", "--yes")
        for n in ("e1", "e3"):
            c.jern(n, "db", "destroy", "mvdb", "--force", timeout=60)
        kill_mariadbd(e1_state)


def db_app_with_rows(c, db, app, via):
    """db_app_on_e1, its instances restarted onto the database, and five rows
    written through via's gateway: their ids."""
    db_app_on_e1(c, db, app)
    assert c.jern("e1", "restart", app, timeout=150).returncode == 0
    ids = []
    for i in range(5):
        st, body = c.post(via, app, f"/rows?v=before-{i}")
        assert st == 201, body
        ids.append(json.loads(body)["id"])
    return ids


@pytest.mark.skipif(not shutil.which("mariadbd"), reason="mariadb-server is not installed")
def test_a_node_that_dies_during_a_move_leaves_the_database_where_it_was(cluster3):
    """e3 is killed (kill -9, JERN_FAULT) right after its empty copy is made
    and the database on e1 turned read-only: the move fails once e3's lease
    expires, e1's database takes writes again with every row, and e3 removes
    its incomplete copy when it comes back."""
    c = cluster3
    e1_state, e3_state = c.nodes["e1"]["state"], c.nodes["e3"]["state"]
    c.nodes["e3"]["proc"].stop()
    c.start_node("e3", etcd_url=c.etcd_url, env={"JERN_FAULT": "db:move-before-copy"})
    try:
        ids = db_app_with_rows(c, "fdb", "fa", via="e1")
        r = c.jern("e1", "db", "move", "fdb", "--to", "e3", timeout=120)
        assert r.returncode == 1 and "node e3 left the cluster during the move" in r.stderr, \
            r.stdout + r.stderr
        assert c.nodes["e3"]["proc"].p.wait(5) == -signal.SIGKILL
        # e1 is writable again, with all it had (no move is left behind)
        wait_for(lambda: c.post("e1", "fa", "/rows?v=after")[0] == 201, 20,
                 "fdb writable again on e1")
        wait_for(lambda: json.loads(c.jern("e1", "db", "move", "fdb", "--json").stdout)["move"]
                 is None, 15, "the failed move's record gone")
        st, body = c.get("e1", "fa", "/rows")
        assert set(ids) <= set(json.loads(body)["ids"]), body
        # e3 back: its incomplete copy goes
        assert (e3_state / "db" / "fdb").exists()
        c.start_node("e3", etcd_url=c.etcd_url)
        wait_for(lambda: not (e3_state / "db" / "fdb").exists(), 30,
                 "e3's incomplete copy removed")
        wait_for(lambda: json.loads(c.jern("e2", "db", "move", "fdb", "--json").stdout)[
            "nodes"] == ["e1"], 10, "fdb on e1 alone in the cluster's records")
    finally:
        c.jern("e1", "destroy", "fa", "--yes")
        c.jern("e1", "db", "destroy", "fdb", "--force", timeout=60)
        kill_mariadbd(e1_state)
        kill_mariadbd(e3_state)
        if c.nodes["e3"]["proc"].p.poll() is not None:
            c.start_node("e3", etcd_url=c.etcd_url)


@pytest.mark.skipif(not shutil.which("mariadbd"), reason="mariadb-server is not installed")
def test_a_move_goes_on_after_the_old_nodes_daemon_is_killed(cluster3):
    """The daemon of the node a database leaves is killed (kill -9, JERN_FAULT)
    right after it made the server read-only; its mariadbd keeps running.
    Restarted, the daemon knows the server is read-only for the move and
    carries the move on: the database ends on the other node with every row."""
    c = cluster3
    e1_state = c.nodes["e1"]["state"]
    c.nodes["e1"]["proc"].stop()
    c.start_node("e1", etcd_url=c.etcd_url, env={"JERN_FAULT": "db:move-after-freeze"})
    try:
        ids = db_app_with_rows(c, "kdb", "ka", via="e3")
        r = c.jern("e2", "db", "move", "kdb", "--to", "e3", "--no-wait")
        assert r.returncode == 0, r.stdout + r.stderr
        assert c.nodes["e1"]["proc"].p.wait(30) == -signal.SIGKILL
        c.start_node("e1", etcd_url=c.etcd_url)
        wait_for(lambda: json.loads(c.jern("e2", "db", "move", "kdb", "--json").stdout)
                 == {"move": None, "nodes": ["e3"]}, 90, "kdb moved to e3 after e1's restart")
        assert not (e1_state / "db" / "kdb").exists()
        wait_for(lambda: c.post("e3", "ka", "/rows?v=after")[0] == 201, 30, "writes on e3")
        st, body = c.get("e3", "ka", "/rows")
        assert set(ids) <= set(json.loads(body)["ids"]), body
    finally:
        c.jern("e1", "destroy", "ka", "--yes")
        for n in ("e1", "e3"):
            c.jern(n, "db", "destroy", "kdb", "--force", timeout=60)
        kill_mariadbd(e1_state)
        if c.nodes["e1"]["proc"].p.poll() is not None:
            c.start_node("e1", etcd_url=c.etcd_url)


def db_apps(c, node, db):
    dbs = json.loads(c.jern(node, "db", "ls", "--json").stdout)["databases"]
    return [d["apps"] for d in dbs if d["name"] == db and d.get("state") != "elsewhere"][0]


def nodes_with(c, via, label):
    out = json.loads(c.jern(via, "nodes", "--json").stdout)["nodes"]
    key, val = label.split("=")
    return sorted(n["name"] for n in out if n.get("labels", {}).get(key) == val)


@pytest.mark.skipif(not shutil.which("mariadbd"), reason="mariadb-server is not installed")
def test_a_new_database_goes_where_its_app_may_have_data_and_is_run_from_any_node(cluster3):
    """jern db create --app on an SE node: the scheduler puts the database on a
    NO node (the app requires jurisdiction=NO) and attaches the app there;
    backup, detach, attach and destroy asked on other nodes are carried out
    by the node that holds it; placements that break a rule are refused."""
    c = cluster3
    no = nodes_with(c, "e3", "jurisdiction=NO")
    se = nodes_with(c, "e3", "jurisdiction=SE")
    assert no and se, (no, se)
    asker = se[0]
    try:
        assert c.jern(asker, "apps", "set", "pl", "--require", "jurisdiction=NO").returncode == 0
        wait_for(lambda: all(c.jern(n, "apps", "set", "pl", "--require", "jurisdiction=NO")
                             .returncode == 0 for n in no + se), 10, "pl on every node")
        # a node that lacks the labels, by hand: refused, naming them
        r = c.jern(asker, "db", "create", "pldb", "--app", "pl", "--node", asker,
                   "--memory", "256M")
        assert r.returncode == 1 and "requires the labels jurisdiction=NO" in r.stderr, \
            r.stdout + r.stderr
        r = c.jern(asker, "db", "create", "pldb", "--app", "pl", "--node", "nosuch")
        assert r.returncode == 1 and "node 'nosuch' is not in the cluster" in r.stderr, r.stderr
        # the scheduler's choice: a NO node, the app attached there
        r = c.jern(asker, "db", "create", "pldb", "--app", "pl", "--memory", "256M", "--port",
                   str(free_port()), timeout=180)
        assert r.returncode == 0, r.stdout + r.stderr
        m = re.search(r"on node (\S+)", r.stdout)
        assert m and m.group(1) in no, r.stdout
        holder = m.group(1)
        assert "attached pldb to pl" in r.stdout, r.stdout
        assert (c.nodes[holder]["state"] / "db" / "pldb").is_dir()
        assert not any((c.nodes[n]["state"] / "db" / "pldb").exists() for n in se)
        # the name is the cluster's: taken on every node
        r = c.jern(no[-1], "db", "create", "pldb", "--memory", "256M")
        assert r.returncode == 1 and f"exists already, on node {holder}" in r.stderr, r.stderr
        # jern db ls on another node shows where it is; its details are read there
        wait_for(lambda: re.search(rf"pldb\s+on {holder}\b.*\bpl\b",
                                   c.jern(asker, "db", "ls").stdout), 15,
                 "pldb in jern db ls on " + asker)
        r = c.jern(asker, "db", "url", "pldb")
        assert r.returncode == 1 and f"is on node {holder}" in r.stderr, r.stderr
        # backup, detach and attach asked of the holder from other nodes
        r = c.jern(asker, "db", "backup", "pldb", timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "-manual" in c.jern(holder, "db", "backups", "pldb").stdout
        r = c.jern(asker, "db", "detach", "pldb", "pl", timeout=60)
        assert r.returncode == 0 and "detached pl from pldb" in r.stdout, r.stdout + r.stderr
        assert db_apps(c, holder, "pldb") == []
        r = c.jern(asker, "db", "attach", "pldb", "pl", timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        assert db_apps(c, holder, "pldb") == ["pl"]
        # an app that may not have data there cannot be attached from anywhere
        assert c.jern(asker, "apps", "set", "sp", "--require", "jurisdiction=SE").returncode == 0
        wait_for(lambda: c.jern(holder, "apps", "set", "sp", "--require", "jurisdiction=SE")
                 .returncode == 0, 10, "sp on " + holder)
        r = c.jern(asker, "db", "attach", "pldb", "sp", timeout=60)
        assert r.returncode == 1 and "refused: app 'sp' requires the labels" in r.stderr, \
            r.stdout + r.stderr
        # destroyed from another node: gone from its node and from jern where
        r = c.jern(asker, "db", "destroy", "pldb", "--force", timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        assert not (c.nodes[holder]["state"] / "db" / "pldb").exists()
        wait_for(lambda: "pldb" not in c.jern(asker, "db", "ls").stdout, 15,
                 "pldb gone from jern db ls")
    finally:
        for n in no + se:
            c.jern(n, "db", "destroy", "pldb", "--force", timeout=60)
        for app in ("pl", "sp"):
            c.jern(asker, "destroy", app, "--yes")


@pytest.mark.skipif(not shutil.which("mariadbd"), reason="mariadb-server is not installed")
def wait_listed(c, via, node):
    """Until node's registration (after a restart) is in via's view: asked
    before that, via answers "not in the cluster" (true, but not the case a
    test means)."""
    wait_for(lambda: node in [n["name"] for n in
                              json.loads(c.jern(via, "nodes", "--json").stdout)["nodes"]],
             30, f"node {node} listed by {via}")


def test_a_create_asked_of_a_node_that_dies_fails_clearly_and_leaves_nothing(cluster3):
    """The node chosen for a new database is killed (kill -9, JERN_FAULT) once
    its server answers, before the database is recorded: the client that
    asked on another node is told it failed, the node removes the half-made
    server when it is back, and the name can be used again."""
    c = cluster3
    target = "e2"
    st = c.nodes[target]["state"]
    c.nodes[target]["proc"].stop()
    c.start_node(target, etcd_url=c.etcd_url, env={"JERN_FAULT": "db:create-after-start"})
    try:
        wait_listed(c, "e3", target)
        r = c.jern("e3", "db", "create", "halfdb", "--node", target, "--memory", "256M",
                   timeout=120)
        assert r.returncode == 1, r.stdout + r.stderr
        assert f"node {target}" in r.stderr and ("left the cluster" in r.stderr
                                                 or "restarted" in r.stderr), r.stderr
        assert c.nodes[target]["proc"].p.wait(30) == -signal.SIGKILL
        c.start_node(target, etcd_url=c.etcd_url)
        wait_for(lambda: not (st / "db" / "halfdb").exists(), 30, "the half-made halfdb removed")
        wait_listed(c, "e3", target)
        # the name is free again once the node marked the old request failed
        # (until then a create answers 409 naming it)
        last = []

        def create():
            last[:] = [c.jern("e3", "db", "create", "halfdb", "--node", target, "--memory",
                              "256M", timeout=120)]
            assert last[0].returncode == 0 or "is running on node" in last[0].stderr, \
                last[0].stdout + last[0].stderr
            return last[0].returncode == 0
        wait_for(create, 30, "halfdb created again")
        assert f"on node {target}" in last[0].stdout, last[0].stdout
    finally:
        c.jern("e3", "db", "destroy", "halfdb", "--force", timeout=60)
        kill_mariadbd(st)
        if c.nodes[target]["proc"].p.poll() is not None:
            c.start_node(target, etcd_url=c.etcd_url)
