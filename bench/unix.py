"""Upstreams over unix sockets against loopback TCP (issue 22 section 2): jern,
nginx and HAProxy in front of the same two nginx backends, each backend
listening on a loopback port and on a unix socket, every proxy run once with
TCP upstreams and once with unix ones (`server unix:PATH`; HAProxy
`unix@PATH`), the same pool and config otherwise (bench/proxies.py).
Unpinned: proxy, wrk and backends share every CPU, as on a box where jern runs
the gateway and the apps (deploy --listen-fds --socket unix).

    bench/unix.sh                    # 5 interleaved rounds x 6 runs x 8 s, about 5 minutes
    BENCH_QUICK=1 bench/unix.sh      # smoke run: 1 round x 2 s

Prints, per proxy and transport, req/s (median, min-max over the rounds),
the proxy's CPU and the whole machine's CPU per request and new upstream
connections per request; then each proxy's unix/TCP gain and the jern/peer
ratios per round (median and min-max). Environment: BENCH_SECONDS (8),
BENCH_ROUNDS (5), BENCH_CONNS (50), BENCH_OUT (bench/results: unix.md,
unix.json), JERN_BIN (build/jern). All traffic stays on 127.0.0.1 and unix
sockets in a temporary directory."""
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import bench
import procstat
import proxies

TRANSPORTS = ("tcp", "unix")


def spread(v):
    return f"{statistics.median(v):.2f} ({min(v):.2f}-{max(v):.2f})"


def main():
    quick = os.environ.get("BENCH_QUICK") == "1"
    seconds = bench.env_int("BENCH_SECONDS", 2 if quick else 8, 1, 600)
    rounds = bench.env_int("BENCH_ROUNDS", 1 if quick else 5, 1, 50)
    conns = bench.env_int("BENCH_CONNS", 50, 1, 10000)
    out = Path(os.environ.get("BENCH_OUT") or bench.ROOT / "bench" / "results").resolve()
    jern = str(Path(os.environ.get("JERN_BIN") or bench.ROOT / "build" / "jern").resolve())
    nofile = bench.raise_nofile()
    proxies.CPUS.update(proxy=None, load=None)
    b = bench.Bench.__new__(bench.Bench)  # its wrk runner, without the full run's settings
    b.tmp = Path(tempfile.mkdtemp(prefix="jern-bench-unix-"))
    b.lua = Path(__file__).resolve().parent / "latency.lua"
    b.children = []
    load0 = bench.loadavg()
    # nginx's workers run as nobody when the bench runs as root: they must
    # reach the backends' sockets (made 0777 by the umask) through tmp.
    b.tmp.chmod(0o755)
    old_umask = os.umask(0)
    try:
        ports = bench.start_backends(b.tmp, b.children, "bench-unix")
    finally:
        os.umask(old_umask)
    sockets = [f"unix:{proxies.backend_socket(b.tmp / f'backend{i}')}" for i in (1, 2)]
    backend_pids = [p for c in b.children for p in procstat.tree(c.pid)]
    running, failed, rows = [], [], []
    try:
        for px_cls in (lambda: proxies.Nginx(), lambda: proxies.Haproxy(),
                       lambda: proxies.Jern(jern)):
            for t in TRANSPORTS:
                px = px_cls()
                why = px.available() or px.start(b.tmp / f"{px.name}-{t}", bench.free_port(),
                                                 ports if t == "tcp" else sockets, nofile)
                if px.child:
                    b.children.append(px.child)
                if why:
                    failed.append(f"{px.name} ({t}): {why}")
                    continue
                running.append((px, t))
        print(f"bench-unix: {', '.join(f'{p.name}/{t}' for p, t in running)}; {rounds} "
              f"round(s) x {seconds} s at -c{conns}, unpinned; load average {load0}",
              flush=True)
        for rnd in range(1, rounds + 1):
            for px, t in running:
                pids = procstat.tree(px.child.pid)
                acc0 = [proxies.backend_accepts(p) for p in ports]
                cpu0, m0 = procstat.cpu_seconds(pids), procstat.machine_cpu_seconds()
                w = b.wrk(px.port, conns, seconds)
                cpu, mcpu = procstat.cpu_seconds(pids) - cpu0, procstat.machine_cpu_seconds() - m0
                acc1 = [proxies.backend_accepts(p) for p in ports]
                n, secs = w["requests"], w["duration_us"] / 1e6
                errors = sum(w[k] for k in w if k.startswith("err_"))
                new = (sum(acc1) - sum(acc0) - len(acc0)) if None not in acc0 + acc1 else None
                rows.append({"round": rnd, "proxy": px.name, "transport": t, "requests": n,
                             "rps": n / secs if secs else 0.0, "errors": errors,
                             "p99_ms": w["p99_us"] / 1000,
                             "proxy_us_per_req": cpu * 1e6 / n if n else None,
                             "machine_us_per_req": mcpu * 1e6 / n if n else None,
                             "upstream_conns_per_req": new / n if n and new is not None else None})
                print(f"  round {rnd} {px.name:7} {t:4}: {rows[-1]['rps']:9.0f} req/s, "
                      f"{errors} errors", flush=True)
    finally:
        for c in reversed(b.children):
            c.stop()
    load1 = bench.loadavg()
    by = {}
    for r in rows:
        by.setdefault((r["proxy"], r["transport"]), []).append(r)
    lines = [f"# Upstreams over unix sockets vs loopback TCP (bench/unix.sh)", "",
             f"{rounds} interleaved round(s) x {seconds} s, wrk -t1 -c{conns}, unpinned; "
             f"load average {load0} before, {load1} after; two nginx backends.", "",
             "| proxy | upstream | req/s median (min-max) | proxy us/req | machine us/req "
             "| new upstream conns/req | p99 ms |", "|---|---|---|---|---|---|---|"]
    med = (lambda rs, k: statistics.median([r[k] for r in rs if r[k] is not None])
           if any(r[k] is not None for r in rs) else float("nan"))
    for (name, t), rs in by.items():
        v = [r["rps"] for r in rs]
        lines.append(f"| {name} | {t} | {statistics.median(v):.0f} ({min(v):.0f}-{max(v):.0f}) "
                     f"| {med(rs, 'proxy_us_per_req'):.1f} | {med(rs, 'machine_us_per_req'):.1f} "
                     f"| {med(rs, 'upstream_conns_per_req'):.3f} | {med(rs, 'p99_ms'):.2f} |")
    lines += ["", "Ratios per round, median (min-max):", ""]

    def ratio(a, b_):
        ra = {r["round"]: r["rps"] for r in by.get(a, [])}
        rb = {r["round"]: r["rps"] for r in by.get(b_, [])}
        v = [ra[k] / rb[k] for k in ra if k in rb and rb[k] > 0]
        return spread(v) if v else "n/a"

    names = sorted({n for n, _ in by})
    for n in names:
        lines.append(f"- {n} unix / {n} tcp: {ratio((n, 'unix'), (n, 'tcp'))}")
    for peer in ("nginx", "haproxy"):
        if peer in names and "jern" in names:
            lines.append(f"- jern unix / {peer} unix: {ratio(('jern', 'unix'), (peer, 'unix'))}")
            lines.append(f"- jern tcp / {peer} tcp: {ratio(('jern', 'tcp'), (peer, 'tcp'))}")
    for f in failed:
        lines.append(f"- did not run: {f}")
    text = "\n".join(lines) + "\n"
    print(text)
    out.mkdir(parents=True, exist_ok=True)
    (out / "unix.md").write_text(text)
    (out / "unix.json").write_text(json.dumps({"rows": rows, "failed": failed,
                                               "load": [load0, load1]}, indent=1))
    return 1 if failed or any(r["errors"] > r["requests"] // 100 for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
