"""jern's side-by-side benchmark: nginx, HAProxy and jern as reverse proxies in
front of the same two backends, with the same upstream pool, on this machine,
in one run (issues 4 and 22), in two CPU layouts: pinned (the proxy on the
last CPU, wrk and the backends on the others) and unpinned (everything shares
every CPU, as jern's own deployments do).

    bench/run.sh                     # the defaults: 2 layouts x 5 rounds x 10 s, ~16 minutes
    BENCH_QUICK=1 bench/run.sh       # smoke run: 1 round x 2 s, 1000 idle connections

For each proxy and load it reports req/s (median and the min-max over the
rounds), the proxy's own CPU per request, the whole machine's CPU per request,
the context switches of wrk and of the backends per request, and the new
upstream connections per request (the backends' accept counters); the
jern/nginx and jern/HAProxy req/s ratios per round, with their spread. The
rounds interleave the proxies, so a slow phase of the machine hits them all.
Figures from a machine that other work shares are not meaningful: the
report prints the load average before and after.

Environment: BENCH_SECONDS (10), BENCH_ROUNDS (5: this machine's speed drifts in
phases of minutes; five interleaved rounds keep one slow phase out of the medians), BENCH_IDLE_CONNS (10000),
BENCH_LAYOUTS ("pinned,unpinned"), BENCH_PIN (1: only the pinned layout; 0: only unpinned),
BENCH_OUT (bench/results: latest.md + latest.json), JERN_BIN (build/jern).
Exit status: 0 when every proxy that could run did (jern's slot is skipped,
not failed, while the binary has no gateway command), 1 when one failed,
2 on bad settings.

Every process it starts runs in its own process group and is stopped at the
end, also on Ctrl-C or SIGTERM. All traffic goes to 127.0.0.1."""
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import idle
import procstat
import proxies
import report

ROOT = Path(__file__).resolve().parents[1]
LOADS = (1, 50, 500)
# One wrk thread: on 2 cores a second one only competes with the proxy and the
# backends, and one thread drives about 130k req/s against a bare backend here,
# three times what a one-worker proxy serves (docs/PERFORMANCE.md).
WRK_THREADS = 1
WARMUP_SECONDS = 1
IDLE_SETTLE_S = 11.0
IDLE_SETTLE_QUICK_S = 0.5


def env_int(name, default, low, high):
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        v = int(raw)
    except ValueError:
        v = None
    if v is None or not low <= v <= high:
        print(f"bench: {name}={raw!r} is not a whole number in {low}..{high}", file=sys.stderr)
        sys.exit(2)
    return v


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_nofile():
    """Soft RLIMIT_NOFILE up to the hard limit, for us and our children (the
    idle test holds 10,000 sockets; the proxies hold as many). Returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def version(argv, pattern):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "not found"
    m = re.search(pattern, r.stdout + r.stderr)
    return m.group(1) if m else "unknown"


def machine(jern_bin):
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        rev = ""
    return {
        "cpu": cpu,
        "nproc": len(os.sched_getaffinity(0)),
        "kernel": platform.release(),
        "mem_gib": mem_kib / 1024 / 1024,
        "versions": {
            "nginx": version(["nginx", "-v"], r"nginx/(\S+)"),
            "HAProxy": version(["haproxy", "-v"], r"version (\S+)"),
            "wrk": version(["wrk", "-v"], r"wrk (\S+)"),
            "jern": (version([jern_bin, "version"], r"jern (\S+)") + (f" ({rev})" if rev else "")),
        },
    }


def start_backends(tmp, children, tool):
    """The two nginx backends every proxy is measured against, on free
    loopback ports below tmp. Each Child is appended to children (for the
    caller's cleanup); one that does not come up ends the run, named.
    Returns the ports."""
    ports = []
    for i in (1, 2):
        port = free_port()
        child, why = proxies.start_backend(Path(tmp) / f"backend{i}", port)
        children.append(child)
        if why:
            sys.exit(f"{tool}: backend nginx on 127.0.0.1:{port} did not come up: {why}\n"
                     f"{child.tail()}")
        ports.append(port)
    return ports


def set_pinning(pin):
    """The proxy under test on the last CPU, wrk and the backends on the
    others: the proxy's figures then depend less on how the scheduler
    shares cores with its own load generator. Sets proxies.CPUS; returns the
    text for the report."""
    cpus = sorted(os.sched_getaffinity(0))
    if not pin or len(cpus) < 2:
        proxies.CPUS.update(proxy=None, load=None)
        why = "BENCH_PIN=0" if not pin else "one CPU"
        return f"unpinned ({why}): proxy, wrk and backends share every CPU"
    proxies.CPUS.update(proxy={cpus[-1]}, load=set(cpus[:-1]))
    load = ",".join(str(c) for c in cpus[:-1])
    return (f"pinned: the proxy under test on CPU {cpus[-1]}, wrk and both backends on "
            f"CPU {load} (taskset-style affinity, the same for every proxy)")


class Bench:
    def __init__(self):
        quick = self.quick = os.environ.get("BENCH_QUICK") == "1"
        self.seconds = env_int("BENCH_SECONDS", 2 if quick else 10, 1, 600)
        self.rounds = env_int("BENCH_ROUNDS", 1 if quick else 5, 1, 50)
        self.idle_conns = env_int("BENCH_IDLE_CONNS", 1000 if quick else 10000, 10, 100000)
        if os.environ.get("BENCH_PIN"):
            self.layouts = ["pinned" if env_int("BENCH_PIN", 1, 0, 1) else "unpinned"]
        else:
            raw = os.environ.get("BENCH_LAYOUTS") or "pinned,unpinned"
            self.layouts = [x.strip() for x in raw.split(",") if x.strip()]
            if not self.layouts or any(x not in ("pinned", "unpinned") for x in self.layouts):
                print(f"bench: BENCH_LAYOUTS={raw!r} is not a list of pinned, unpinned",
                      file=sys.stderr)
                sys.exit(2)
        self.out = Path(os.environ.get("BENCH_OUT") or ROOT / "bench" / "results").resolve()
        # Relative to the repository (the working directory from here on), so
        # no machine path lands in the report.
        jern = Path(os.environ.get("JERN_BIN") or ROOT / "build" / "jern").resolve()
        self.jern_bin = os.path.relpath(jern, ROOT)
        os.chdir(ROOT)
        self.lua = Path(__file__).resolve().parent / "latency.lua"
        self.tmp = Path(tempfile.mkdtemp(prefix="jern-bench-"))
        self.children = []  # every Child started, for the final cleanup
        self.backends = []
        self.backend_children = []
        self.layout = None
        self.failed = []    # "proxy: why" for proxies that failed to run
        self.notes = []
        self.peak_note = None
        self.measurements = []
        self.memory = {}

    # -- processes -------------------------------------------------------------

    def track(self, child):
        self.children.append(child)
        return child

    def cleanup(self):
        for c in reversed(self.children):
            try:
                c.stop()
            except Exception as e:  # keep stopping the others
                print(f"bench: stopping {c.argv[0]}: {e}", file=sys.stderr)
        self.children = []

    def start_backends(self):
        before = len(self.children)
        self.backends = start_backends(self.tmp, self.children, "bench")
        self.backend_children = self.children[before:]

    def stop_backends(self):
        for c in self.backend_children:
            c.stop()
            self.children.remove(c)
        self.backend_children = []

    def start_proxy(self, px, tag):
        why = px.start(self.tmp / f"{px.name}-{tag}", free_port(), self.backends, self.nofile)
        if px.child:
            self.track(px.child)
        if why:
            self.failed.append(f"{px.name}: did not come up: {why}")
            print(f"bench: {px.name} did not come up: {why}", file=sys.stderr)
            px.stop()
            return False
        return True

    # -- measurements ----------------------------------------------------------

    def wrk(self, port, conns, seconds):
        argv = ["wrk", f"-t{WRK_THREADS}", f"-c{conns}", f"-d{seconds}s", "--timeout", "2s",
                "-s", str(self.lua), f"http://127.0.0.1:{port}/"]
        log = self.tmp / "wrk.log"
        child = self.track(proxies.Child(argv, log, cpus="load"))
        # Reaped here with wait4 for its rusage: wrk's context switches.
        cs = None
        deadline = time.monotonic() + seconds + 30
        while time.monotonic() < deadline:
            pid, status, ru = os.wait4(child.pid, os.WNOHANG)
            if pid:
                child.p.returncode = os.waitstatus_to_exitcode(status)
                cs = ru.ru_nvcsw + ru.ru_nivcsw
                break
            time.sleep(0.02)
        child.stop()
        self.children.remove(child)
        text = log.read_text(errors="replace")
        m = re.search(r"^BENCH_JSON (\{.*\})$", text, re.M)
        if child.p.returncode != 0 or not m:
            raise RuntimeError(f"wrk failed (status {child.p.returncode}): {text[-500:]}")
        w = json.loads(m.group(1))
        w["ctx_switches"] = cs
        return w

    def measure(self, px, load, rnd):
        pids = procstat.tree(px.child.pid)
        if not procstat.reset_peak(pids) and not self.peak_note:
            self.peak_note = "peak RSS is the peak since start: /proc/PID/clear_refs refused"
            self.notes.append(self.peak_note)
        bpids = [p for c in self.backend_children for p in procstat.tree(c.pid)]
        acc0 = [proxies.backend_accepts(b) for b in self.backends]
        bcs0 = procstat.ctx_switches(bpids)
        mcpu0 = procstat.machine_cpu_seconds()
        cpu0 = procstat.cpu_seconds(pids)
        w = self.wrk(px.port, load, self.seconds)
        cpu = procstat.cpu_seconds(pids) - cpu0
        mcpu = procstat.machine_cpu_seconds() - mcpu0
        bcs = procstat.ctx_switches(bpids) - bcs0
        acc1 = [proxies.backend_accepts(b) for b in self.backends]
        # each /stub_status read is an accept of its own: the first read's
        # counts in acc1, not in acc0
        conns = (sum(acc1) - sum(acc0) - len(acc0)
                 if None not in acc0 + acc1 else None)
        errors = sum(w[k] for k in w if k.startswith("err_"))
        secs = w["duration_us"] / 1e6
        n = w["requests"]
        per = (lambda v: v / n if n and v is not None else None)
        m = {
            "layout": self.layout, "round": rnd, "load": load, "proxy": px.name,
            "requests": w["requests"], "seconds": secs,
            "rps": w["requests"] / secs if secs > 0 else 0.0,
            "p50_ms": w["p50_us"] / 1000, "p99_ms": w["p99_us"] / 1000,
            "mean_ms": w["mean_us"] / 1000, "max_ms": w["max_us"] / 1000,
            "cpu_s": cpu,
            "req_per_cpu_s": w["requests"] / cpu if cpu > 0 else 0.0,
            "peak_rss_kib": procstat.status_kib(procstat.serving(px.child.pid), "VmHWM"),
            "errors": errors,
            "proxy_us_per_req": per(cpu * 1e6),
            "machine_us_per_req": per(mcpu * 1e6),
            "wrk_cs_per_req": per(w["ctx_switches"]),
            "backend_cs_per_req": per(bcs),
            "upstream_conns_per_req": per(conns),
            "wrk": w,
        }
        if w["requests"] == 0 or errors > w["requests"] // 100:
            raise RuntimeError(f"{w['requests']} requests, {errors} errors ({w})")
        return m

    def idle_test(self, px):
        """RSS per idle keep-alive connection on a fresh instance of px."""
        if not self.start_proxy(px, "idle"):
            return
        asked = self.idle_conns
        if px.idle_cap and asked > px.idle_cap:
            asked = px.idle_cap
            self.notes.append(f"{report.LABEL[px.name]} holds {asked} idle connections, not "
                              f"{self.idle_conns}: its maxconn under this fd limit "
                              f"({self.nofile}) is {px.idle_cap}")
        if asked > self.nofile - 200:
            asked = self.nofile - 200
            self.notes.append(f"idle test capped at {asked} connections by RLIMIT_NOFILE "
                              f"{self.nofile}")
        try:
            time.sleep(0.3)
            serving = procstat.serving(px.child.pid)
            before = procstat.status_kib(serving, "VmRSS")
            with idle.IdleConns() as conns:
                conns.open(px.port, asked, timeout=60)
                # Let each proxy settle into its idle state: jern gives its
                # request buffers back once none of the last 10 s needed
                # them (GW_TRIM_PERIODS, src/gateway/freelist.c); the same wait
                # for every proxy. The smoke run only checks the harness.
                time.sleep(IDLE_SETTLE_QUICK_S if self.quick else IDLE_SETTLE_S)
                held = conns.still_open()
                with_conns = procstat.status_kib(procstat.serving(px.child.pid), "VmRSS")
                err = conns.first_error
            m = {"asked": asked, "answered": conns.answered, "held": held,
                 "rss_before_kib": before, "rss_with_kib": with_conns,
                 "kib_per_conn": (with_conns - before) / held if held else None}
            if held < asked:
                why = f"{held} of {asked} idle connections held (first error: {err})"
                m["error"] = why
                self.failed.append(f"{px.name}: idle test: {why}")
            self.memory[px.name] = m
        finally:
            px.stop()

    # -- the run ---------------------------------------------------------------

    def set_pinning(self):
        """For the single-layout tools (tls.py, ab.py): the first layout."""
        self.layout = self.layouts[0]
        return set_pinning(self.layout == "pinned")

    def run_layout(self, pxs, meta):
        """Every round of every load for every proxy in self.layout. Leaves
        the backends running (the idle test uses them)."""
        self.stop_backends()
        meta["pinning"][self.layout] = set_pinning(self.layout == "pinned")
        self.start_backends()
        running = []
        for px in pxs:
            if px.name in self.skipped:
                continue
            if self.start_proxy(px, f"load-{self.layout}"):
                running.append(px)
        total = len(running) * (len(LOADS) * self.rounds * self.seconds + WARMUP_SECONDS)
        print(f"bench: {self.layout}: {', '.join(p.name for p in running)} on backends "
              f"{self.backends}; about {total + 10 * len(running)} s", flush=True)
        for px in list(running):
            try:
                self.wrk(px.port, 50, WARMUP_SECONDS)
            except RuntimeError as e:
                self.failed.append(f"{px.name}: warm-up: {e}")
                print(f"bench: {px.name} failed its warm-up: {e}", file=sys.stderr)
                running.remove(px)
                px.stop()
        for rnd in range(1, self.rounds + 1):
            for load in LOADS:
                for px in list(running):
                    try:
                        m = self.measure(px, load, rnd)
                    except RuntimeError as e:
                        self.failed.append(f"{px.name}: {self.layout} -c{load} round {rnd}: {e}")
                        print(f"bench: {px.name} failed at -c{load}: {e}", file=sys.stderr)
                        running.remove(px)
                        px.stop()
                        continue
                    self.measurements.append(m)
                    f = report.fmt
                    print(f"  {self.layout:8} round {rnd} -c{load:<3} {px.name:8} "
                          f"{m['rps']:9.0f} req/s  p50 {m['p50_ms']:7.3f} ms  "
                          f"p99 {m['p99_ms']:7.3f} ms  proxy {f(m['proxy_us_per_req'], '.1f')} "
                          f"us/req  machine {f(m['machine_us_per_req'], '.1f')} us/req  "
                          f"cs wrk {f(m['wrk_cs_per_req'], '.3f')} backends "
                          f"{f(m['backend_cs_per_req'], '.3f')}  new upstream conns "
                          f"{f(m['upstream_conns_per_req'], '.3f')}/req", flush=True)
        for px in running:
            px.stop()

    def run(self):
        self.nofile = raise_nofile()
        meta = machine(self.jern_bin)
        meta["pinning"] = {}
        meta.update({"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                     "load_before": loadavg(), "rounds": self.rounds,
                     "seconds": self.seconds, "wrk_threads": WRK_THREADS,
                     "loads": list(LOADS), "idle_conns": self.idle_conns,
                     "nofile": self.nofile, "layouts": self.layouts, "pool": proxies.POOL})
        for tool in ("nginx", "wrk"):
            if not shutil.which(tool):
                sys.exit(f"bench: {tool} not found: run scripts/install-deps.sh (make bench does)")

        pxs = [proxies.Nginx(), proxies.Haproxy(), proxies.Jern(self.jern_bin)]
        meta["order"] = [p.name for p in pxs]
        self.skipped = set()
        for px in pxs:
            why = px.available()
            if why:
                msg = f"{px.name}: skipped: {why}"
                print(f"bench: {msg}", file=sys.stderr)
                self.notes.append(msg)
                self.skipped.add(px.name)
                if px.name != "jern":
                    self.failed.append(msg)
        for layout in self.layouts:
            self.layout = layout
            self.run_layout(pxs, meta)
        for px in pxs:
            if px.name in self.skipped or any(f.startswith(f"{px.name}: did not come up")
                                              for f in self.failed):
                continue
            self.idle_test(px)
            m = self.memory.get(px.name)
            if m:
                print(f"  idle     {px.name:8} {m['held']} conns  "
                      f"{m['rss_before_kib'] / 1024:.1f} -> {m['rss_with_kib'] / 1024:.1f} MiB  "
                      f"{(m['kib_per_conn'] or 0):.2f} KiB/conn", flush=True)

        meta["load_after"] = loadavg()
        summary = report.summarize(self.measurements, LOADS)
        spreads = report.round_ratios(self.measurements, LOADS)
        targets = report.check_targets(summary, self.memory)
        md = report.render(meta, summary, self.memory, targets,
                           self.notes + [f"FAILED TO RUN: {f.splitlines()[0]}" for f in self.failed],
                           spreads)
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "latest.md").write_text(md)
        raw = {"meta": meta, "measurements": self.measurements, "memory": self.memory,
               "summary": {lay: {p: {str(k): v for k, v in s.items()} for p, s in by.items()}
                           for lay, by in summary.items()},
               "ratios_per_round": spreads,
               "targets": targets, "failed": self.failed, "notes": self.notes}
        (self.out / "latest.json").write_text(json.dumps(raw, indent=1) + "\n")
        print()
        print(md)
        for t in targets:
            print(f"{t['result']:4}  {t['text']}")
        for f in self.failed:
            print(f"FAILED TO RUN: {f}")
        print(f"\nbench: wrote {self.out / 'latest.md'} and {self.out / 'latest.json'}")
        return 1 if self.failed else 0


def main():
    bench = Bench()

    def on_signal(signum, frame):
        raise SystemExit(128 + signum)

    # Explicitly: a shell without job control starts background jobs with
    # SIGINT ignored, and Python would keep that.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        return bench.run()
    except KeyboardInterrupt:
        print("\nbench: interrupted; stopping everything it started", file=sys.stderr)
        return 130
    finally:
        bench.cleanup()
        subprocess.run(["rm", "-rf", str(bench.tmp)], check=False)


if __name__ == "__main__":
    sys.exit(main())
