"""Instructions per request for each proxy, counted by valgrind's callgrind:
exact and free of the machine's noise (other engineers' builds, the
scheduler), so it compares builds of jern with each other and with nginx and
HAProxy where wall-clock figures on a shared 2-core box cannot.

    bench/instr.sh [SECONDS [CONNECTIONS]]     (5 s, 50; proxies: nginx haproxy jern)

The same backends and configs as bench.py. Each proxy runs twice under
`valgrind --tool=callgrind --trace-children=yes` (nginx's and HAProxy's
workers are children): once driven by wrk for SECONDS, once left idle as
long; the difference over wrk's requests is the cost per request, without
start-up, shutdown or timers. (callgrind_control cannot switch a master
process that waits in sigsuspend, so the counts are not toggled.) Instructions are user space only (callgrind
cannot see the kernel, where 90% of a proxy's CPU goes here): this measures
the proxy's own code and libc. Under valgrind a proxy runs ~50x slower, so
wrk's request count, not its rate, is what matters."""
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench
import proxies

ROOT = Path(__file__).resolve().parents[1]


def wrk(port, seconds, conns):
    r = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--timeout", "5s",
                        f"http://127.0.0.1:{port}/"],
                       capture_output=True, text=True, timeout=seconds + 60)
    m = re.search(r"(\d+) requests in", r.stdout)
    if not m:
        raise RuntimeError(f"wrk failed: {r.stdout[-300:]} {r.stderr[-300:]}")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout)
    return int(m.group(1)), int(bad.group(1)) if bad else 0


def total_ir(d):
    total = 0
    for f in Path(d).glob("cg.*"):
        # "summary:" near the top is written at start-up (0); "totals:" at the end
        for line in f.read_text(errors="replace").splitlines():
            if line.startswith("totals:"):
                total += int(line.split()[1])
    return total


def run_once(px, d, backends, seconds, conns, nofile, load):
    """Total instructions of px's processes from start to exit, with wrk
    driving it for seconds (load) or left idle as long (baseline)."""
    orig = type(px)._argv
    px._argv = lambda dd, conf: (["valgrind", "--tool=callgrind", "--trace-children=yes",
                                  f"--callgrind-out-file={dd}/cg.%p"] + orig(px, dd, conf))
    # nginx's worker runs as "nobody" and writes its own callgrind file here
    d.mkdir(parents=True, exist_ok=True)
    d.chmod(0o777)
    why = px.start(d, bench.free_port(), backends, nofile)
    if why:
        px.stop()
        raise RuntimeError(f"{px.name} under valgrind did not come up: {why}")
    try:
        reqs, bad = wrk(px.port, seconds, conns) if load else (0, 0)
        if not load:
            time.sleep(seconds)
    finally:
        px.stop()
    return reqs, bad, total_ir(d)


def measure(px, d, backends, seconds, conns, nofile):
    _, _, base = run_once(px, d / "idle", backends, seconds, conns, nofile, False)
    reqs, bad, ir = run_once(px, d / "load", backends, seconds, conns, nofile, True)
    return reqs, bad, ir - base


def main():
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    conns = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    names = sys.argv[3].split(",") if len(sys.argv) > 3 else ["nginx", "haproxy", "jern"]
    for tool in ("valgrind", "callgrind_control", "wrk", "nginx"):
        if not subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).stdout:
            sys.exit(f"instr: {tool} not found: run scripts/install-deps.sh")
    nofile = bench.raise_nofile()
    tmp = Path(tempfile.mkdtemp(prefix="jern-instr-"))
    tmp.chmod(0o711)  # nginx's worker ("nobody") reaches its directory below
    (tmp / "nginx").mkdir()
    (tmp / "nginx").chmod(0o711)
    jern_bin = os.environ.get("JERN_BIN") or str(ROOT / "build" / "jern")
    children = []
    try:
        backends = bench.start_backends(tmp, children, "instr")
        pxs = {"nginx": proxies.Nginx(), "haproxy": proxies.Haproxy(),
               "jern": proxies.Jern(jern_bin)}
        rows = []
        for name in names:
            px = pxs[name]
            reqs, bad, ir = measure(px, tmp / name, backends, seconds, conns, nofile)
            per = ir / reqs if reqs else 0
            rows.append((name, reqs, bad, ir, per))
            print(f"{name:8} {reqs:7d} requests ({bad} not 2xx)  {ir:14,d} instructions  "
                  f"{per:9,.0f} per request", flush=True)
        return 0
    finally:
        for c in children:
            c.stop()
        if not os.environ.get("INSTR_KEEP"):
            subprocess.run(["rm", "-rf", str(tmp)], check=False)
        else:
            print(f"kept {tmp}")


if __name__ == "__main__":
    sys.exit(main())
