"""A/B of jern builds against nginx (and optionally HAProxy) under the bench's set-up:
the same two backends, configs and CPU pinning as bench.py, one load, proxies
interleaved round by round. Besides req/s and requests per proxy CPU-second it
prints two machine-wide counts per request that explain them: TCP segments
sent (nstat TcpOutSegs; 4 is the least a proxied exchange needs) and context
switches (/proc/stat ctxt).

    /usr/bin/python3 bench/ab.py [JERN_BIN ...]      (default build/jern)

Settings (environment): C (connections, 50), R (rounds, 3), BENCH_SECONDS (5),
NGINX (1: include nginx), HAPROXY (0: include HAProxy). Used to decide whether a
data-path change is worth keeping: build both binaries, copy one aside, run
both in one invocation; only the ratios inside one run mean something."""
import os
import statistics
import subprocess
import sys

os.environ.setdefault("BENCH_SECONDS", "5")

import bench  # noqa: E402  (reads BENCH_SECONDS at construction)
import proxies  # noqa: E402


def nstat():
    out = subprocess.run(["nstat", "-az"], capture_output=True, text=True).stdout
    counters = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 2 and f[1].isdigit():
            counters[f[0]] = int(f[1])
    return counters


def ctxt():
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("ctxt "):
                return int(line.split()[1])
    return 0


def main():
    bins = sys.argv[1:] or ["build/jern"]
    conns = bench.env_int("C", 50, 1, 10000)
    rounds = bench.env_int("R", 3, 1, 50)
    b = bench.Bench()
    b.nofile = bench.raise_nofile()
    print(f"ab: {b.set_pinning()}; -c{conns}, {rounds} x {b.seconds} s", flush=True)
    b.start_backends()
    pxs = []
    if os.environ.get("NGINX", "1") == "1":
        pxs.append(proxies.Nginx())
    if os.environ.get("HAPROXY", "0") == "1":
        pxs.append(proxies.Haproxy())
    for i, path in enumerate(bins):
        px = proxies.Jern(path)
        px.name = f"jern{i}"
        pxs.append(px)
    try:
        for px in pxs:
            if not b.start_proxy(px, px.name):
                sys.exit(f"ab: {px.name} did not start")
            b.wrk(px.port, conns, 1)
        res = {px.name: [] for px in pxs}
        for rnd in range(rounds):
            for px in pxs:
                n0, c0 = nstat(), ctxt()
                m = b.measure(px, conns, rnd)
                n1, c1 = nstat(), ctxt()
                req = max(m["requests"], 1)
                segs = (n1.get("TcpOutSegs", 0) - n0.get("TcpOutSegs", 0)) / req
                res[px.name].append(m)
                print(f"  round {rnd + 1} {px.name:8} {m['rps']:8.0f} req/s  cpu {m['cpu_s']:5.2f} s  "
                      f"{m['req_per_cpu_s']:7.0f} req/cpu-s  p99 {m['p99_ms']:.3f} ms  "
                      f"segments/req {segs:.2f}  ctxsw/req {(c1 - c0) / req:.3f}", flush=True)
        base = res.get("nginx")
        for name, ms in res.items():
            rps = statistics.median(x["rps"] for x in ms)
            eff = statistics.median(x["req_per_cpu_s"] for x in ms)
            line = f"{name:8} median {rps:8.0f} req/s {eff:7.0f} req/cpu-s"
            if base:
                line += (f"   /nginx: req/s {rps / statistics.median(x['rps'] for x in base):.3f}"
                         f"  req per CPU-s {eff / statistics.median(x['req_per_cpu_s'] for x in base):.3f}")
            print(line)
    finally:
        b.cleanup()


if __name__ == "__main__":
    main()
