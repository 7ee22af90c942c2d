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

Environment: BENCH_SECONDS (5), BENCH_ROUNDS (3), BENCH_PIN (1; 0: unpinned,
written to h2-unpinned.*, as tls.py; `make bench` runs both), BENCH_OUT
(bench/results: h2.md + h2.json), JERN_BIN. Rounds are interleaved as in
tls.py. All traffic is on 127.0.0.1; every process started is stopped."""
import subprocess
import sys

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
        meta, running = self.begin([Nginx(), Haproxy(), Jern(self.jern_bin)])
        print(f"bench h2: {', '.join(p.name for p in running)}", flush=True)
        for px in running:
            self.h2load(px.port, 10)  # warm-up
        for rnd in range(1, self.rounds + 1):
            for m in STREAMS:
                for px in list(running):
                    got = self.measure(px, f"-m{m} round {rnd}", lambda: self.h2load(px.port, m))
                    if got is None:
                        running.remove(px)
                        continue
                    (rps, p99), cpu = got
                    self.add(px, f"rps_m{m}", rps)
                    self.add(px, f"p99_m{m}", p99)
                    self.add(px, f"cpu_m{m}", rps * self.seconds / cpu if cpu > 0 else 0)
                    print(f"  round {rnd} -m{m:<3} {px.name:8} {rps:9.0f} req/s  p99 "
                          f"{p99:7.2f} ms", flush=True)
        for px in running:
            px.stop()
        return self.finish("h2", meta)

    def render(self, meta):
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
                lines.append(self.row(label, fig, fmt))
        for f in self.failed:
            lines.append(f"\nFAILED: {f.splitlines()[0]}")
        return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(tls.main(H2Bench))
