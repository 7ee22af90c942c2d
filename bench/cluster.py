"""The cluster's figures (docs/CLUSTER.md, docs/PERFORMANCE.md), on loopback:

  1. gateway req/s of a cluster node against a single node: the same app (one
     exec instance of the test app, on the node itself), wrk -t1 -c50 keep-alive,
     rounds interleaved, medians and their ratio;
  2. time from `jern deploy` to the first 200 through the gateway: one node vs
     a three-node cluster (one etcd member), answered by the node the deploy
     was sent to.

Usage: /usr/bin/python3 bench/cluster.py [--rounds N] [--seconds S]
Needs etcd (etcd-server), wrk and build/jern, build/jern-testapp."""
import argparse
import http.client
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from conftest import JERN, TESTAPP, Proc, free_port, wait_port  # noqa: E402


def jern(sock, *args):
    env = dict(os.environ, JERN_ADMIN=str(sock))
    return subprocess.run([JERN, *args], env=env, capture_output=True, text=True, timeout=60)


def start_node(tmp, name, addr, etcd=None, label="NO"):
    d = tmp / name
    d.mkdir()
    port = free_port()
    (d / "jern.conf").write_text(f"jern {{ listen {addr}:{port}; state_dir {d}/state; }}\n")
    args = [JERN, "serve", "-c", d / "jern.conf"]
    if etcd:
        args += ["--cluster", etcd, "--node", name, "--advertise", addr, "--label",
                 f"jurisdiction={label}"]
    p = Proc(args, d / "serve.log", env={"JERN_ACME_DIRECTORY": "off"})
    wait_port(port, host=addr, timeout=20)
    while not (d / "state" / "admin.sock").exists():
        time.sleep(0.05)
    return {"proc": p, "addr": addr, "port": port, "sock": d / "state" / "admin.sock",
            "state": d / "state"}


def first_200(node, app, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection(node["addr"], node["port"], timeout=2)
            c.request("GET", "/", headers={"Host": f"{app}.localhost"})
            if c.getresponse().status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.01)
    return False


def deploy_time(node, app):
    t = time.time()
    r = jern(node["sock"], "deploy", app, "--cmd", TESTAPP)
    assert r.returncode == 0, r.stdout + r.stderr
    assert first_200(node, app), f"{app} never answered"
    return time.time() - t


def wrk(node, app, seconds):
    out = subprocess.run(["wrk", "-t1", "-c50", f"-d{seconds}s", "-H", f"Host: {app}.localhost",
                          f"http://{node['addr']}:{node['port']}/"],
                         capture_output=True, text=True, timeout=seconds + 30).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def kill_instances(node):
    for pids in (node["state"] / "exec" / "instances").glob("*/pids"):
        for pid in pids.read_text().split():
            try:
                os.kill(int(pid), 9)
            except (ProcessLookupError, ValueError):
                pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="jern-bench-cluster-"))
    os.chmod(tmp, 0o755)
    cp, pp = free_port(), free_port()
    url, peer = f"http://127.0.0.1:{cp}", f"http://127.0.0.1:{pp}"
    etcd = Proc(["etcd", "--data-dir", tmp / "etcd", "--listen-client-urls", url,
                 "--advertise-client-urls", url, "--listen-peer-urls", peer,
                 "--initial-advertise-peer-urls", peer, "--initial-cluster", f"default={peer}"],
                tmp / "etcd.log")
    wait_port(cp, timeout=20)
    nodes = []
    try:
        single = start_node(tmp, "single", "127.0.0.1")
        nodes.append(single)
        t_single = deploy_time(single, "one")
        cl = [start_node(tmp, n, ip, url) for n, ip in
              [("c1", "127.0.0.2"), ("c2", "127.0.0.3"), ("c3", "127.0.0.4")]]
        nodes += cl
        time.sleep(2)  # every node registered
        r = jern(cl[0]["sock"], "apps", "set", "one", "--require", "jurisdiction=NO")
        assert r.returncode == 0, r.stderr
        # one instance, placed on c1 (prefer its site) so both gateways proxy locally
        t_cluster = deploy_time(cl[0], "one")
        where = jern(cl[0]["sock"], "where", "one", "--json").stdout
        print(f"deploy -> first 200: single node {t_single:.2f} s, 3-node cluster "
              f"{t_cluster:.2f} s (answered by the node the deploy went to)")
        local = cl[0] if '"node":"c1"' in where.replace(" ", "") else \
            cl[1] if '"node":"c2"' in where.replace(" ", "") else cl[2]
        s_rates, c_rates = [], []
        for i in range(a.rounds):
            # the order alternates, so a drift of the machine's load favours neither
            if i % 2 == 0:
                s_rates.append(wrk(single, "one", a.seconds))
                c_rates.append(wrk(local, "one", a.seconds))
            else:
                c_rates.append(wrk(local, "one", a.seconds))
                s_rates.append(wrk(single, "one", a.seconds))
            print(f"  round {i + 1}: single {s_rates[-1]:.0f}, cluster node {c_rates[-1]:.0f}, "
                  f"ratio {c_rates[-1] / s_rates[-1]:.3f}", flush=True)
        s, c = statistics.median(s_rates), statistics.median(c_rates)
        ratios = sorted(x / y for x, y in zip(c_rates, s_rates))
        print(f"gateway req/s (wrk -t1 -c50, {a.rounds} rounds of {a.seconds} s, medians): "
              f"single node {s:.0f}, cluster node {c:.0f}, ratio {c / s:.3f}; paired ratios "
              f"median {statistics.median(ratios):.3f}, range {ratios[0]:.3f}-{ratios[-1]:.3f}")
    finally:
        for n in nodes:
            n["proc"].stop()
            kill_instances(n)
        etcd.stop()


if __name__ == "__main__":
    main()
