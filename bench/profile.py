"""Where one proxy spends its time under the bench's load (-c50 by default): the same
backends, config and CPU pinning (BENCH_PIN, default 1) as bench.py, then

  1. syscalls per request: strace -c on the serving processes during a wrk run;
  2. a CPU profile: perf record -g -e cpu-clock (software clock: hardware
     counters are often unavailable in VMs) during another wrk run, flat
     (self time) and inclusive (time under each function).

    bench/profile.sh nginx|haproxy|jern [SECONDS [CONNECTIONS]]   (5 s, 50)

strace slows the proxy a lot; only the per-request counts mean something, not
its req/s. Prints its findings; BENCH_OUT (default bench/results) gets
profile-NAME-cCONNECTIONS.txt with the same text."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench
import procstat
import proxies

ROOT = Path(__file__).resolve().parents[1]


def wrk(port, seconds, conns=50):
    cpuset = proxies.CPUS.get("load")
    r = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "-s",
                        str(Path(__file__).resolve().parent / "latency.lua"),
                        f"http://127.0.0.1:{port}/"],
                       capture_output=True, text=True, timeout=seconds + 30,
                       preexec_fn=(lambda: os.sched_setaffinity(0, cpuset)) if cpuset else None)
    m = re.search(r"^BENCH_JSON (\{.*\})$", r.stdout, re.M)
    if not m:
        raise RuntimeError(f"wrk failed: {r.stdout[-300:]} {r.stderr[-300:]}")
    return json.loads(m.group(1))


def strace_counts(pids, port, seconds, conns, tmp):
    """[(syscall, calls, calls per request)], requests."""
    out = tmp / "strace.txt"
    argv = ["strace", "-c", "-f", "-o", str(out)]
    for p in pids:
        argv += ["-p", str(p)]
    st = subprocess.Popen(argv, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        time.sleep(0.5)  # attach before the first request
        w = wrk(port, seconds, conns)
    finally:
        st.send_signal(2)
        st.wait(timeout=30)
    rows = []
    for line in out.read_text().splitlines():
        f = line.split()
        # % time, seconds, usecs/call, calls, [errors], syscall
        if len(f) >= 5 and re.match(r"^[0-9.]+$", f[0]) and f[-1] != "total":
            rows.append((f[-1], int(f[3])))
    n = max(w["requests"], 1)
    return [(name, calls, calls / n) for name, calls in sorted(rows, key=lambda r: -r[1])], n


def perf_profile(pids, port, seconds, conns, tmp):
    data = tmp / "perf.data"
    argv = ["perf", "record", "-q", "-g", "-e", "cpu-clock", "-F", "1999", "-o", str(data),
            "-p", ",".join(map(str, pids))]
    pr = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          start_new_session=True)
    try:
        time.sleep(0.5)
        w = wrk(port, seconds, conns)
    finally:
        pr.send_signal(2)
        pr.wait(timeout=60)
    sections = []
    # by DSO; the hottest symbols; the hottest user-space symbols (kernel ones marked [k])
    # (self time), then the functions with the most time under them (children:
    # which syscall, the send path, the receive softirq run inside it).
    for sort, limit, user_only, top, children in (
            ("dso", "1", False, 8, False), ("dso,symbol", "0.7", False, 30, False),
            ("dso,symbol", "0.05", True, 20, False), ("dso,symbol", "2", False, 40, True)):
        rep = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "-g", "none",
                              "--children" if children else "--no-children",
                              "--sort", sort, "--percent-limit", limit],
                             capture_output=True, text=True, timeout=120)
        lines = [re.sub(r"(\s+-)+\s*$", "", line.strip()) for line in rep.stdout.splitlines()
                 if line.strip() and not line.startswith("#")]
        if user_only:
            lines = [line for line in lines if "[k]" not in line]
        sections.append(lines[:top])
    return sections, w


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("nginx", "haproxy", "jern"):
        sys.exit("usage: bench/profile.sh nginx|haproxy|jern [SECONDS [CONNECTIONS]]")
    name = sys.argv[1]
    try:
        seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
        conns = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    except ValueError:
        sys.exit("profile: SECONDS and CONNECTIONS are whole numbers, e.g. bench/profile.sh jern 5 50")
    for tool in ("strace", "perf", "wrk", "nginx"):
        if not shutil.which(tool):
            sys.exit(f"profile: {tool} not found (apt-get install strace linux-perf wrk nginx)")
    bench.raise_nofile()
    pinning = bench.set_pinning(bench.env_int("BENCH_PIN", 1, 0, 1) == 1)
    jern = os.path.relpath(Path(os.environ.get("JERN_BIN") or ROOT / "build" / "jern").resolve(),
                           ROOT)
    os.chdir(ROOT)
    px = {"nginx": proxies.Nginx, "haproxy": proxies.Haproxy}.get(name, lambda: None)() \
        or proxies.Jern(jern)
    why = px.available()
    if why:
        sys.exit(f"profile: {why}")
    tmp = Path(tempfile.mkdtemp(prefix="jern-profile-"))
    children = []
    report = []
    try:
        backends = bench.start_backends(tmp, children, "profile")
        why = px.start(tmp / name, bench.free_port(), backends, bench.raise_nofile())
        if px.child:
            children.append(px.child)
        if why:
            sys.exit(f"profile: {name} did not come up: {why}")
        wrk(px.port, 1)  # warm up
        pids = procstat.serving(px.child.pid)
        cpu0 = procstat.cpu_seconds(pids)
        w = wrk(px.port, seconds, conns)
        cpu = procstat.cpu_seconds(pids) - cpu0
        report.append(f"CPUs: {pinning}")
        report.append(f"{name}: -c{conns} without tracing: {w['requests'] / (w['duration_us'] / 1e6):.0f}"
                      f" req/s, {w['requests'] / cpu:.0f} req per CPU-s, "
                      f"{cpu / w['requests'] * 1e6:.1f} us CPU per request")
        rows, n = strace_counts(pids, px.port, seconds, conns, tmp)
        total = sum(r[1] for r in rows)
        report.append(f"\nsyscalls per request (strace -c -f, {n} requests): {total / n:.2f}")
        for sc, calls, per in rows[:15]:
            report.append(f"  {sc:24} {calls:9d} {per:7.3f}")
        sections, w = perf_profile(pids, px.port, seconds, conns, tmp)
        titles = ("by DSO", "hottest symbols (>= 0.7%)", "hottest user-space symbols",
                  "inclusive (time in the function and what it calls, >= 2%)")
        report.append(f"\nperf record -e cpu-clock, {w['requests']} requests, % of the proxy's "
                      "CPU samples:")
        for title, lines in zip(titles, sections):
            report.append(f"  {title}:")
            report += ["    " + line for line in lines]
    finally:
        for c in reversed(children):
            c.stop()
        subprocess.run(["rm", "-rf", str(tmp)], check=False)
    text = "\n".join(report) + "\n"
    print(text)
    out = Path(os.environ.get("BENCH_OUT") or ROOT / "bench" / "results")
    out.mkdir(parents=True, exist_ok=True)
    (out / f"profile-{name}-c{conns}.txt").write_text(text)


if __name__ == "__main__":
    main()
