"""HTTP/2 side by side: nginx, HAProxy and jern terminating TLS with h2 (ALPN)
in front of the same two nginx backends (bench/proxies.py), issue 21.

    bench/h2.sh                       # 3 rounds x 5 s per figure
    BENCH_QUICK=1 bench/h2.sh         # 1 round x 2 s

The TLS bench's settings (bench/tls.py): one worker, the same ECDSA P-256
certificate, TLS 1.3, least_conn with an upstream keep-alive pool of 64, no
access log; plus h2 on the listen address (nginx and jern `listen ... ssl
http2`, HAProxy `alpn h2`) and keepalive_requests high enough that no
connection is ended during a run. The load: h2load -t1 -c10 with 1, 10 and
100 streams per connection (-m). Figures per proxy: req/s, and the 99th
percentile of the request times h2load logs (--log-file).

Environment: BENCH_SECONDS (5), BENCH_ROUNDS (3), BENCH_PIN (1), BENCH_OUT
(bench/results: h2.md + h2.json), JERN_BIN. Rounds are interleaved as in
tls.py. All traffic is on 127.0.0.1; every process started is stopped."""
import json
import os
import statistics
import subprocess
import sys
import time

import bench
import procstat
import proxies
import tls

CLIENTS = 10
STREAMS = (1, 10, 100)


def nginx_h2(d, port, backends, nofile, crt, key, nginx_only):
    conf = tls.nginx_syntax(d, port, backends, nofile, crt, key, nginx_only)
    return conf.replace(f"listen 127.0.0.1:{port} ssl;", f"listen 127.0.0.1:{port} ssl http2;")


class Nginx(tls.Nginx):
    def _config(self, d, port, backends, nofile):
        return nginx_h2(d, port, backends, nofile, self.crt, self.key, True)


class Haproxy(tls.Haproxy):
    def _config(self, d, port, backends, nofile):
        conf = tls.haproxy_config(port, backends, self.pem)
        return conf.replace(f"ssl crt {self.pem}", f"ssl crt {self.pem} alpn h2,http/1.1")


class Jern(tls.Jern):
    def _config(self, d, port, backends, nofile):
        return nginx_h2(d, port, backends, nofile, self.crt, self.key, False)


class H2Bench(tls.TlsBench):
    def h2load(self, port, streams):
        log = self.tmp / "h2load.log"
        reqlog = self.tmp / "h2load.req"
        reqlog.unlink(missing_ok=True)
        argv = ["h2load", "-t1", f"-c{CLIENTS}", f"-m{streams}", f"-D{self.seconds}",
                "--log-file", str(reqlog), f"https://127.0.0.1:{port}/"]
        child = self.track(proxies.Child(argv, log, cpus="load"))
        try:
            child.p.wait(timeout=self.seconds + 30)
        except subprocess.TimeoutExpired:
            pass
        child.stop()
        self.children.remove(child)
        times, bad = [], 0
        for line in reqlog.read_text(errors="replace").splitlines():
            parts = line.split()
            if len(parts) >= 3:
                if parts[1] != "200":
                    bad += 1
                times.append(int(parts[2]))
        if not times or bad > len(times) // 100:
            text = log.read_text(errors="replace")
            raise RuntimeError(f"{len(times)} requests, {bad} not 200: {text[-400:]}")
        times.sort()
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))] / 1000.0
        return len(times) / self.seconds, p99

    def run(self):
        self.nofile = bench.raise_nofile()
        meta = bench.machine(self.jern_bin)
        meta["pinning"] = self.set_pinning()
        meta.update({"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                     "load_before": bench.loadavg(), "rounds": self.rounds,
                     "seconds": self.seconds})
        crt, key, pem = tls.make_cert(self.tmp)
        pxs = [Nginx(), Haproxy(), Jern(self.jern_bin)]
        for px in pxs:
            px.tls_files(crt, key, pem)
        self.start_backends()
        running = []
        for px in pxs:
            why = px.available()
            if why:
                self.failed.append(f"{px.name}: skipped: {why}")
            elif self.start_proxy(px, "load"):
                running.append(px)
        print(f"bench h2: {', '.join(p.name for p in running)}", flush=True)
        for px in running:
            self.h2load(px.port, 10)  # warm-up
        for rnd in range(1, self.rounds + 1):
            for m in STREAMS:
                for px in list(running):
                    try:
                        pids = procstat.tree(px.child.pid)
                        cpu0 = procstat.cpu_seconds(pids)
                        rps, p99 = self.h2load(px.port, m)
                        cpu = procstat.cpu_seconds(pids) - cpu0
                    except RuntimeError as e:
                        self.failed.append(f"{px.name}: -m{m} round {rnd}: {e}")
                        print(f"bench: {px.name} failed: {e}", file=sys.stderr)
                        running.remove(px)
                        px.stop()
                        continue
                    self.add(px, f"rps_m{m}", rps)
                    self.add(px, f"p99_m{m}", p99)
                    self.add(px, f"cpu_m{m}", rps * self.seconds / cpu if cpu > 0 else 0)
                    print(f"  round {rnd} -m{m:<3} {px.name:8} {rps:9.0f} req/s  p99 "
                          f"{p99:7.2f} ms", flush=True)
        for px in running:
            px.stop()
        meta["load_after"] = bench.loadavg()
        md = self.render(meta)
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "h2.md").write_text(md)
        (self.out / "h2.json").write_text(json.dumps(
            {"meta": meta, "results": self.results, "failed": self.failed}, indent=1) + "\n")
        print()
        print(md)
        return 1 if self.failed else 0

    def render(self, meta):
        def med(p, f):
            v = self.results.get(p, {}).get(f)
            return statistics.median(v) if v else None

        def spread(p, f):
            v = self.results.get(p, {}).get(f)
            if not v or len(v) < 2:
                return ""
            m = statistics.median(v)
            return f" ±{(max(v) - min(v)) / 2 / m * 100:.0f}%" if m else ""

        lines = [f"# HTTP/2 benchmark, {meta['date']}", "",
                 f"{meta['cpu']}, {meta['nproc']} CPUs, kernel {meta['kernel']}; "
                 f"{meta['rounds']} rounds x {meta['seconds']} s per figure; h2load -t1 "
                 f"-c{CLIENTS}; load average {meta['load_before']} before, "
                 f"{meta['load_after']} after; {meta['pinning']}.",
                 "Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + ".",
                 "", "| figure (median, ± half the spread) | nginx | HAProxy | jern | jern/nginx "
                 "| jern/HAProxy |", "|---|---|---|---|---|---|"]
        for m in STREAMS:
            for fig, label, fmt in ((f"rps_m{m}", f"req/s, {m} streams/conn", "{:.0f}"),
                                    (f"cpu_m{m}", "... per CPU-second of the proxy", "{:.0f}"),
                                    (f"p99_m{m}", "... p99 ms (lower is better)", "{:.2f}")):
                n, h, j = med("nginx", fig), med("haproxy", fig), med("jern", fig)

                def cell(p, v):
                    return (fmt.format(v) + spread(p, fig)) if v is not None else "-"
                lines.append(f"| {label} | {cell('nginx', n)} | {cell('haproxy', h)} | "
                             f"{cell('jern', j)} | {j / n if n and j else 0:.2f} | "
                             f"{j / h if h and j else 0:.2f} |")
        for f in self.failed:
            lines.append(f"\nFAILED: {f.splitlines()[0]}")
        return "\n".join(lines) + "\n"


def main():
    b = H2Bench()
    try:
        return b.run()
    except KeyboardInterrupt:
        return 130
    finally:
        b.cleanup()
        subprocess.run(["rm", "-rf", str(b.tmp)], check=False)


if __name__ == "__main__":
    sys.exit(main())
