"""A jern cluster on a real etcd (docs/CLUSTER.md): one etcd member on free
loopback ports, three `jern serve` nodes on 127.0.0.2-4 (two labelled
jurisdiction=NO, one SE), exec apps of the test app. The tests share one
cluster and run in file order: placement by labels, drain under load, a
node (the scheduler's) killed under load, etcd stopped and back."""
import http.client
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import JERN, TESTAPP, Proc, free_port, wait_port

pytestmark = pytest.mark.skipif(not shutil.which("etcd"), reason="etcd-server not installed")

NODES = [("n1", "127.0.0.2", "NO"), ("n2", "127.0.0.3", "NO"), ("n3", "127.0.0.4", "SE")]
SINGLE = ("n0", "127.0.0.5", "NO")  # a single node that joins later (jern cluster init)


class Cluster:
    """members etcd members (each on a client and a peer port of its own) and
    the nodes of the table given, started on demand."""

    def __init__(self, tmp, nodes=NODES + [SINGLE], members=1, env=None, port=None, extra=None):
        self.tmp = tmp
        self.env = env  # given to every node (DOCKER_HOST, say)
        self.port = port  # every node's gateway on it (each on its address); None: free ones
        self.extra = extra  # extra(addr): more directives for a node's jern block
        self.table = {n: (a, l) for n, a, l in nodes}
        self.ports = [(free_port(), free_port()) for _ in range(members)]
        self.urls = [f"http://127.0.0.1:{c}" for c, _ in self.ports]
        self.etcd_url = ",".join(self.urls)
        self.nodes = {}
        self.procs = []
        self.members = [None] * members
        self.etcd = None

    def start_member(self, i):
        client, _ = self.ports[i]
        peers = [f"http://127.0.0.1:{p}" for _, p in self.ports]
        names = [f"m{k}" if len(self.ports) > 1 else "default" for k in range(len(peers))]
        m = Proc(["etcd", "--name", names[i], "--data-dir", self.tmp / f"etcd{i}",
                  "--listen-client-urls", self.urls[i], "--advertise-client-urls", self.urls[i],
                  "--listen-peer-urls", peers[i], "--initial-advertise-peer-urls", peers[i],
                  "--initial-cluster", ",".join(f"{n}={p}" for n, p in zip(names, peers)),
                  "--initial-cluster-token", f"jern-{self.tmp.name}"],
                 self.tmp / f"etcd{i}-{len(self.procs)}.log")
        self.members[i] = m
        return m

    def start_etcd(self):
        for i in range(len(self.ports)):
            self.start_member(i)
        for client, _ in self.ports:
            wait_port(client, timeout=20)
        self.etcd = self.members[0]

    def start_node(self, name, clustered=True, etcd_url=None, env=None):
        addr, label = self.table[name]
        d = self.tmp / name
        d.mkdir(exist_ok=True)
        port = self.nodes[name]["port"] if name in self.nodes else self.port or free_port()
        conf = d / "jern.conf"
        more = self.extra(addr) if self.extra else ""
        conf.write_text(f"jern {{ listen {addr}:{port}; state_dir {d}/state; {more} }}\n")
        args = [JERN, "serve", "-c", conf]
        if clustered:
            args += ["--cluster", etcd_url or self.etcd_url, "--node", name, "--advertise", addr]
            # "NO" is jurisdiction=NO; "K=V,K=V" lists the labels
            for kv in label.split(",") if "=" in label else [f"jurisdiction={label}"]:
                args += ["--label", kv]
        p = Proc(args, d / f"serve-{len(self.procs)}.log", env=dict(self.env or {}, **(env or {})))
        self.procs.append(p)
        self.nodes[name] = {"proc": p, "addr": addr, "port": port, "state": d / "state"}
        wait_port(port, host=addr, timeout=20)
        deadline = time.time() + 20
        while not (d / "state" / "admin.sock").exists() and time.time() < deadline:
            time.sleep(0.05)

    def jern(self, node, *args, timeout=30, env=None):
        env = dict(os.environ, **(env or {}),
                   JERN_ADMIN=str(self.nodes[node]["state"] / "admin.sock"))
        return subprocess.run([JERN, *args], env=env, capture_output=True, text=True,
                              timeout=timeout)

    def where(self, node, app):
        r = self.jern(node, "where", app, "--json")
        if r.returncode not in (0, 3):
            return []
        apps = json.loads(r.stdout)["apps"]
        return [i for i in apps[0]["items"] if i["kind"] == "instance"] if apps else []

    def get(self, node, app, path="/", host=None):
        n = self.nodes[node]
        c = http.client.HTTPConnection(n["addr"], n["port"], timeout=3)
        try:
            c.request("GET", path, headers={"Host": host or f"{app}.localhost"})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def post(self, node, app, path):
        n = self.nodes[node]
        c = http.client.HTTPConnection(n["addr"], n["port"], timeout=10)
        try:
            c.request("POST", path, headers={"Host": f"{app}.localhost"})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def kill_node(self, name):
        """kill -9 the daemon and every instance it runs: a dead machine."""
        self.nodes[name]["proc"].p.kill()
        for pids in (self.nodes[name]["state"] / "exec" / "instances").glob("*/pids"):
            for pid in pids.read_text().split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass

    def stop(self):
        for p in self.procs:
            p.stop()
        for n in list(self.nodes):
            self.kill_node(n)
            kill_mariadbd(self.nodes[n]["state"])  # a test that failed left its databases
        for m in self.members:
            if m:
                m.stop()


def kill_mariadbd(state):
    """kill -9 of every mariadbd whose configuration is under state (the
    databases a node runs outlive its daemon, as they should)."""
    for d in Path("/proc").iterdir():
        try:
            argv = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(b"mariadbd") and any(
                a.startswith(b"--defaults-file=" + str(state).encode()) for a in argv):
            try:
                os.kill(int(d.name), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass


def wait_for(pred, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Load:
    """GETs in a loop through one gateway (bounded in time), counting failures."""

    def __init__(self, cluster, node, app, seconds):
        self.c, self.node, self.app, self.seconds = cluster, node, app, seconds
        self.ok = self.failed = 0
        self.errors = []
        self.t = threading.Thread(target=self.run)
        self.t.start()

    def run(self):
        end = time.time() + self.seconds
        while time.time() < end:
            try:
                st, _ = self.c.get(self.node, self.app)
                if st == 200:
                    self.ok += 1
                    continue
                self.errors.append(st)
            except OSError as e:
                self.errors.append(repr(e))
            self.failed += 1

    def join(self):
        self.t.join()
        return self


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        c.start_etcd()
        for name, _, _ in NODES:
            c.start_node(name)
        wait_for(lambda: len(json.loads(c.jern("n3", "nodes", "--json").stdout)["nodes"]) == 3,
                 20, "three nodes in jern nodes")
        yield c
    finally:
        c.stop()


def instance_nodes(c, app):
    return sorted(i["node"] for i in c.where("n3", app))


def test_placement_by_jurisdiction(cluster):
    c = cluster
    nodes = json.loads(c.jern("n1", "nodes", "--json").stdout)
    assert {n["name"]: n["labels"]["jurisdiction"] for n in nodes["nodes"]} == \
        {"n1": "NO", "n2": "NO", "n3": "SE"}
    # no node is in Denmark: refused, never placed "for now"
    r = c.jern("n3", "apps", "set", "dk", "--require", "jurisdiction=DK")
    assert r.returncode == 1 and "no live node has the labels" in r.stderr, r.stderr
    r = c.jern("n3", "apps", "set", "web", "--require", "jurisdiction=NO")
    assert r.returncode == 0, r.stderr
    r = c.jern("n3", "deploy", "web", "--cmd", TESTAPP, "--instances", "2")
    assert r.returncode == 0 and "release v1" in r.stdout, r.stdout + r.stderr
    wait_for(lambda: instance_nodes(c, "web") == ["n1", "n2"], 30, "web on n1 and n2")
    r = c.jern("n3", "where", "web")
    assert r.returncode == 0 and "everything inside the required labels" in r.stdout, r.stdout
    assert " n3 " not in r.stdout
    # every gateway answers, the SE node's through the NO nodes' instances
    for node in ("n1", "n2", "n3"):
        wait_for(lambda: c.get(node, "web")[0] == 200, 10, f"web through {node}")
    assert not (c.nodes["n3"]["state"] / "exec" / "instances").exists() or \
        not any((c.nodes["n3"]["state"] / "exec" / "instances").iterdir())


def https_mode(c, node, app):
    r = subprocess.run(["curl", "-s", "--unix-socket", str(c.nodes[node]["state"] / "admin.sock"),
                        f"http://jern/v1/apps/{app}/https"], capture_output=True, text=True,
                       timeout=10)
    return json.loads(r.stdout).get("https") if r.stdout.startswith("{") else None


def test_a_domain_set_through_one_node_is_served_by_every_node(cluster):
    c = cluster
    r = c.jern("n3", "domains", "web", "add", "Web.Example.NO")
    assert r.returncode == 0, r.stdout + r.stderr
    # served at once by the node that took it, and never dropped there by a
    # view read before the change
    end = time.time() + 2
    while time.time() < end:
        assert c.get("n3", "web", host="web.example.no")[0] == 200
    for node in ("n1", "n2"):
        wait_for(lambda: c.get(node, "web", host="web.example.no")[0] == 200, 10,
                 f"web.example.no through {node}")
        assert "web.example.no" in c.jern(node, "domains", "web").stdout
    # an app created with a domain on one node exists, with it, on the others
    r = c.jern("n1", "create", "shop", "--domain", "shop.example.no")
    assert r.returncode == 0, r.stdout + r.stderr
    wait_for(lambda: "shop.example.no" in c.jern("n3", "domains", "shop").stdout, 10,
             "shop.example.no on n3")
    # a domain another app holds is refused, and nothing changes in the cluster
    r = c.jern("n3", "domains", "shop", "add", "web.example.no")
    assert r.returncode == 1 and "already belongs to app 'web'" in r.stderr, r.stderr
    r = c.jern("n2", "domains", "web", "remove", "web.example.no")
    assert r.returncode == 0, r.stdout + r.stderr
    for node in ("n1", "n2", "n3"):
        wait_for(lambda: c.get(node, "web", host="web.example.no")[0] == 404, 10,
                 f"web.example.no gone from {node}")
        wait_for(lambda: c.get(node, "web")[0] == 200, 10, f"web.localhost still on {node}")
    assert "shop.example.no" in c.jern("n2", "domains", "shop").stdout
    # an https mode set through one node is every node's
    r = c.jern("n3", "domains", "shop", "set", "--https", "redirect")
    assert r.returncode == 0, r.stdout + r.stderr
    for node in ("n1", "n2"):
        wait_for(lambda: https_mode(c, node, "shop") == "redirect", 10, f"shop's https on {node}")
    # destroyed through one node, it is gone from every node
    r = c.jern("n2", "destroy", "shop", "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    for node in ("n1", "n2", "n3"):
        wait_for(lambda: "shop" not in [a["name"] for a in
                                        json.loads(c.jern(node, "apps", "--json").stdout)["apps"]],
                 10, f"shop gone from {node}")


def test_an_apps_upstream_servers_set_through_one_node_are_every_nodes(cluster):
    """jern upstream APP add|set|remove on any node: every node's gateway routes
    the app to that server (one outside jern, as nginx's upstream block)."""
    c = cluster
    port = free_port()
    ext = Proc([TESTAPP, str(port)], c.tmp / "ext.log",
               env={"HOST": "127.0.0.1", "APP_NAME": "outside"})
    try:
        wait_port(port)
        assert c.jern("n1", "create", "ext").returncode == 0
        r = c.jern("n1", "upstream", "ext", "add", f"127.0.0.1:{port}", "weight=3")
        assert r.returncode == 0, r.stdout + r.stderr
        for node in ("n1", "n2", "n3"):
            wait_for(lambda: c.get(node, "ext", "/env/APP_NAME") == (200, b"outside"), 10,
                     f"ext through {node}")
            out = c.jern(node, "upstream", "ext", "--json").stdout
            assert json.loads(out)["servers"][0]["weight"] == 3, out
        r = c.jern("n2", "upstream", "ext", "set", f"127.0.0.1:{port}", "state=maint")
        assert r.returncode == 0, r.stdout + r.stderr
        for node in ("n1", "n2", "n3"):
            wait_for(lambda: c.get(node, "ext")[0] >= 500, 10, f"ext in maintenance on {node}")
        r = c.jern("n3", "upstream", "ext", "remove", f"127.0.0.1:{port}")
        assert r.returncode == 0, r.stdout + r.stderr
        for node in ("n1", "n2"):
            wait_for(lambda: json.loads(c.jern(node, "upstream", "ext", "--json").stdout)[
                "servers"] == [], 10, f"no server of ext left on {node}")
    finally:
        ext.stop()
        c.jern("n1", "destroy", "ext", "--yes")


def test_runtime_servers_leave_each_nodes_own_instances_alone(cluster):
    """A server added at runtime to an app whose instances run on every node:
    each node's gateway sends the app's requests to the server and to its
    own instances still (the server list the cluster keeps is the runtime
    servers alone, never a node's instance addresses)."""
    c = cluster
    port = free_port()
    ext = Proc([TESTAPP, str(port)], c.tmp / "mix-ext.log",
               env={"HOST": "127.0.0.1", "APP_NAME": "outside"})
    try:
        wait_port(port)
        r = c.jern("n1", "deploy", "mix", "--cmd", TESTAPP, "--instances", "3", timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        wait_for(lambda: sorted(i["node"] for i in c.where("n1", "mix")) == ["n1", "n2", "n3"],
                 40, "one instance of mix on each node")
        r = c.jern("n2", "upstream", "mix", "add", f"127.0.0.1:{port}")
        assert r.returncode == 0, r.stdout + r.stderr
        rec = json.loads(etcd_value(c, "/jern/apps/mix"))
        assert [x["addr"] for x in rec["servers"]] == [f"127.0.0.1:{port}"], rec["servers"]
        for node in ("n1", "n2", "n3"):
            def both():
                seen = {c.get(node, "mix", "/env/APP_NAME")[1] for _ in range(30)}
                return b"outside" in seen and len(seen) >= 2
            wait_for(both, 15, f"mix's server and {node}'s own instance through {node}")
    finally:
        ext.stop()
        c.jern("n1", "destroy", "mix", "--yes")


def etcd_value(c, key):
    import base64
    import urllib.request
    body = json.dumps({"key": base64.b64encode(key.encode()).decode()}).encode()
    req = urllib.request.Request(c.urls[0] + "/v3/kv/range", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        kvs = json.loads(r.read()).get("kvs", [])
    return base64.b64decode(kvs[0]["value"]).decode() if kvs else None


def test_config_and_secrets_set_through_one_node_reach_every_instance(cluster):
    """jern config set on a cluster node is the cluster's config: every
    node's instances get it, secrets included (sealed in etcd with the
    cluster's key, opened by each node), and every node's jern config shows it."""
    c = cluster
    r = c.jern("n3", "deploy", "cfg", "--cmd", TESTAPP, "--instances", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    r = c.jern("n3", "config", "set", "cfg", "GREETING=hei", "API_TOKEN=s3cret")
    assert r.returncode == 0 and "set API_TOKEN (secret)" in r.stdout, r.stdout + r.stderr
    nodes = sorted({i["node"] for i in c.where("n3", "cfg")})
    for node in nodes:  # each answers through its own instance first
        assert c.get(node, "cfg", "/env/API_TOKEN")[1] == b"s3cret"
        assert c.get(node, "cfg", "/env/GREETING")[1] == b"hei"
    for node in ("n1", "n2", "n3"):
        wait_for(lambda: "GREETING" in c.jern(node, "config", "cfg").stdout, 10,
                 f"cfg's config on {node}")
        out = c.jern(node, "config", "cfg").stdout
        assert "s3cret" not in out and "API_TOKEN" in out, out
        r = c.jern(node, "config", "get", "cfg", "API_TOKEN")
        assert r.stdout.strip() == "s3cret", r.stdout + r.stderr
    rec = etcd_value(c, "/jern/apps/cfg")
    assert "s3cret" not in rec and "jn-secret:v1:" in rec, rec
    r = c.jern("n1", "config", "unset", "cfg", "GREETING")
    assert r.returncode == 0, r.stdout + r.stderr
    for node in nodes:
        assert c.get(node, "cfg", "/env/GREETING")[1].startswith(b"env GREETING is not set")
    # (n1 may still be draining the replaced instance: destroy waits for that)
    wait_for(lambda: c.jern("n1", "destroy", "cfg", "--yes").returncode == 0, 15, "cfg destroyed")


def test_drain_under_load_moves_instances_without_failures(cluster):
    c = cluster
    load = Load(c, "n3", "web", 12)
    time.sleep(1)
    r = c.jern("n3", "node", "drain", "n2")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: instance_nodes(c, "web") == ["n1", "n1"], 30, "web moved to n1")
    load.join()
    print(f"drain under load: {load.ok} requests answered, {load.failed} failed {load.errors[:5]}")
    assert load.failed == 0
    r = c.jern("n3", "node", "undrain", "n2")
    assert r.returncode == 0, r.stderr
    # a new spread: one instance moves back to n2 once it is healthy there
    wait_for(lambda: instance_nodes(c, "web") == ["n1", "n2"], 30, "web spread again on n1, n2")


def test_kill_the_scheduler_node_under_load(cluster):
    c = cluster
    sched = json.loads(c.jern("n3", "nodes", "--json").stdout)["scheduler"]
    assert sched in ("n1", "n2", "n3")
    # web runs on n1 and n2 again (undrained). Kill the scheduler's node when it
    # runs web (usually n1, the first node started), else n1.
    victim = sched if sched in ("n1", "n2") else "n1"
    survivor = "n2" if victim == "n1" else "n1"
    loads = [Load(c, survivor, "web", 14), Load(c, "n3", "web", 14)]
    time.sleep(1)
    t0 = time.time()
    c.kill_node(victim)

    def recovered():
        return instance_nodes(c, "web") == [survivor, survivor] and c.get("n3", "web")[0] == 200

    wait_for(recovered, 20, f"web rescheduled on {survivor}")
    recovery = time.time() - t0
    for ld in loads:
        ld.join()
    failed = sum(ld.failed for ld in loads)
    print(f"node {victim} killed (scheduler was {sched}): serving again on {survivor} after "
          f"{recovery:.1f} s; {sum(ld.ok for ld in loads)} requests answered, {failed} failed "
          f"{[e for ld in loads for e in ld.errors][:5]}; per gateway (survivor, n3): "
          f"{[(ld.ok, ld.failed) for ld in loads]}")
    after = json.loads(c.jern("n3", "nodes", "--json").stdout)
    assert after["scheduler"] in (survivor, "n3")
    assert victim not in [n["name"] for n in after["nodes"]]
    assert recovery < 15
    assert failed == 0
    assert "n3" not in instance_nodes(c, "web")
    c.survivor = survivor


def test_etcd_stopped_traffic_continues_and_changes_are_refused(cluster):
    c = cluster
    c.etcd.stop()
    load = Load(c, "n3", "web", 4)
    r = c.jern("n3", "deploy", "web", "--cmd", TESTAPP, "--instances", "2")
    load.join()
    print(f"etcd stopped: {load.ok} requests answered, {load.failed} failed")
    assert r.returncode == 1
    assert "etcd is unreachable" in r.stderr and "control changes are refused" in r.stderr
    assert load.failed == 0 and load.ok > 0
    nodes = json.loads(c.jern("n3", "nodes", "--json").stdout)
    assert nodes["etcd"] is False and len(nodes["nodes"]) >= 2  # the last known state
    # the cluster's config changes are refused too, and leave this node as it was
    r = c.jern("n3", "domains", "web", "add", "down.example.no")
    assert r.returncode == 1 and "etcd is unreachable" in r.stderr, r.stdout + r.stderr
    assert "down.example.no" not in c.jern("n3", "domains", "web").stdout
    r = c.jern("n3", "config", "set", "web", "DOWN=1")
    assert r.returncode == 1 and "etcd is unreachable" in r.stderr, r.stdout + r.stderr
    assert "DOWN" not in c.jern("n3", "config", "web").stdout
    r = c.jern("n3", "destroy", "web", "--yes")
    assert r.returncode == 1 and "etcd is unreachable" in r.stderr, r.stdout + r.stderr
    assert c.get("n3", "web")[0] == 200
    # etcd back: the nodes register again and changes go through; the new
    # release rolls out on n2 while n3's gateway keeps answering through it
    c.start_etcd()
    wait_for(lambda: json.loads(c.jern("n3", "nodes", "--json").stdout)["etcd"], 15,
             "etcd reachable again")
    load = Load(c, "n3", "web", 12)
    wait_for(lambda: c.jern("n3", "deploy", "web", "--cmd", TESTAPP, "--instances", "2")
             .returncode == 0, 30, "a deploy accepted again")
    wait_for(lambda: [(i["node"], i["release"]) for i in c.where("n3", "web")] ==
             [(c.survivor, 2), (c.survivor, 2)], 40, "release v2 on the surviving NO node")
    load.join()
    print(f"release v2 rolled out on another node: {load.ok} requests answered through n3, "
          f"{load.failed} failed {load.errors[:5]}")
    assert load.failed == 0


def test_cluster_init_moves_a_single_nodes_app_into_the_cluster(cluster):
    c = cluster
    c.start_node("n0", clustered=False)
    r = c.jern("n0", "create", "legacy", "--domain", "legacy.example.no")
    assert r.returncode == 0, r.stdout + r.stderr
    r = c.jern("n0", "deploy", "legacy", "--cmd", TESTAPP, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert c.jern("n0", "domains", "legacy", "set", "--https", "only").returncode == 0
    r = c.jern("n0", "config", "set", "legacy", "LEGACY_TOKEN=abc", timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    # a runtime upstream server (in maintenance: never sent to) and autoscaling
    r = c.jern("n0", "upstream", "legacy", "add", "127.0.0.1:9", "weight=2", "state=maint")
    assert r.returncode == 0, r.stdout + r.stderr
    r = c.jern("n0", "scale", "legacy", "--min", "1", "--max", "2", "--concurrency", "50")
    assert r.returncode == 0, r.stdout + r.stderr
    r = c.jern("n0", "where")
    assert r.returncode == 1 and "single node" in r.stderr
    # a database made on the single node listens on loopback alone
    dbport = free_port() if shutil.which("mariadbd") else None
    if dbport:
        r = c.jern("n0", "db", "create", "legacydb", "--memory", "256M", "--port", str(dbport),
                   timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        assert not reachable("127.0.0.5", dbport)
    c.nodes["n0"]["proc"].stop()
    c.start_node("n0")  # the same state dir, now a cluster node
    if dbport:
        # restarted once on the node's advertised address too: other nodes reach it
        wait_for(lambda: reachable("127.0.0.5", dbport), 60, "legacydb on 127.0.0.5")
        dbs = json.loads(c.jern("n0", "db", "ls", "--json").stdout)["databases"]
        assert [d.get("bind_also") for d in dbs if d["name"] == "legacydb"] == ["127.0.0.5"], dbs
    r = c.jern("n0", "cluster", "init")
    assert r.returncode == 0 and "app legacy: its serving release" in r.stdout, r.stdout + r.stderr
    wait_for(lambda: len(c.where("n3", "legacy")) == 1, 30, "legacy placed in the cluster")
    wait_for(lambda: c.get("n3", "legacy")[0] == 200, 15, "legacy through the SE node")
    wait_for(lambda: c.get(c.survivor, "legacy", host="legacy.example.no")[0] == 200, 15,
             "legacy's own domain through another node")
    assert https_mode(c, c.survivor, "legacy") == "only"
    # its config came along, the secret sealed again for the cluster and the node
    assert c.get("n3", "legacy", "/env/LEGACY_TOKEN")[1] == b"abc"
    # and its runtime server and autoscaling are the cluster's
    wait_for(lambda: [(x["addr"], x["weight"]) for x in json.loads(
        c.jern("n3", "upstream", "legacy", "--json").stdout)["servers"]
        if x["addr"] == "127.0.0.1:9"] == [("127.0.0.1:9", 2)], 10, "legacy's server on n3")
    wait_for(lambda: json.loads(c.jern("n3", "ps", "legacy", "--json").stdout)
             .get("autoscale", {}).get("concurrency") == 50, 10, "legacy autoscaled on n3")
    # a second init leaves the cluster's state alone
    r = c.jern("n0", "cluster", "init")
    assert r.returncode == 0 and "app legacy: left as it is" in r.stdout, r.stdout
    # destroyed through another node: its instance stops wherever it runs
    where = c.where("n3", "legacy")[0]["node"]
    r = c.jern("n3", "destroy", "legacy", "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    wait_for(lambda: not c.where("n3", "legacy") and c.get(where, "legacy")[0] == 404, 15,
             f"legacy gone from {where}")
    r = c.jern(where, "ps")
    assert not [ln for ln in r.stdout.splitlines() if ln.startswith("legacy ")], r.stdout
    if dbport:
        r = c.jern("n0", "db", "destroy", "legacydb", "--force", timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr


def reachable(host, port):
    import socket
    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        return False


def test_a_socket_activated_app_is_reached_from_other_nodes(cluster):
    """--listen-fds: jern binds the app's socket itself, on the address the
    node gives its instances (0.0.0.0), so other nodes' gateways reach it."""
    c = cluster
    assert c.jern("n3", "apps", "set", "lfd", "--require", "jurisdiction=SE").returncode == 0
    r = c.jern("n3", "deploy", "lfd", "--cmd", TESTAPP, "--listen-fds")
    assert r.returncode == 0, r.stdout + r.stderr
    assert instance_nodes(c, "lfd") == ["n3"]
    wait_for(lambda: c.get(c.survivor, "lfd")[0] == 200, 15, "lfd through a NO node's gateway")
    r = c.jern("n3", "logs", "lfd")
    assert "accepting on the inherited socket" in r.stdout, r.stdout + r.stderr
