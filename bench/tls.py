"""TLS side by side: nginx, HAProxy and jern terminating TLS in front of the
same two nginx backends (bench/proxies.py), in one run (issue 15).

    bench/tls.sh                      # 3 rounds x 5 s per figure
    BENCH_QUICK=1 bench/tls.sh        # 1 round x 2 s, 300 idle connections

All three: one worker, the same ECDSA P-256 certificate made with the openssl
command for this run, TLS 1.3 only (the suite OpenSSL negotiates,
TLS_AES_256_GCM_SHA384, and the group, X25519, are checked and printed per
proxy), session tickets on (their defaults), least_conn to the backends with
an upstream keep-alive pool of 64 idle connections in all (nginx and jern
`keepalive 64` per upstream, HAProxy `pool-max-conn 32` on each of the two
servers), no
access log. Figures, per proxy and round:

  full handshakes/s   wrk -c50 with `Connection: close`: every request a new
                      TCP connection and a full handshake (wrk never resumes)
  keep-alive req/s    wrk -c50 over TLS, connections kept
  resumed hs/s        openssl s_time -reuse (one client, session resumed on
                      each new connection)
  KiB per idle conn   RSS of the worker before and after N idle TLS
                      keep-alive connections, each having made one request

Environment: BENCH_SECONDS (5), BENCH_ROUNDS (3), BENCH_IDLE_CONNS (1500),
BENCH_PIN (1; 0: everything shares every CPU, as in bench.py's unpinned
layout, written to tls-unpinned.*), BENCH_OUT (bench/results: tls.md +
tls.json), JERN_BIN. `make bench` runs both layouts: pinned, the proxy's
own CPU is measured apart from the load's, but the CPU running wrk (which
does its own TLS) and both backends sets the pace for all three, so its
req/s ratios say little about the proxies; unpinned, a proxy that needs less
CPU per request leaves more to the rest, as on a shared box.
Rounds are interleaved (each figure for nginx, HAProxy, jern, then the next)
so a slow phase of a shared machine hits all three. All traffic is on
127.0.0.1; every process started is stopped at the end."""
import json
import os
import re
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench
import procstat
import proxies

ROOT = Path(__file__).resolve().parents[1]
CONNS = 50
POOL = proxies.POOL  # idle upstream connections in all, as in bench.py


def make_cert(d):
    crt, key = d / "bench.crt", d / "bench.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out", str(crt),
                    "-days", "2", "-subj", "/CN=bench.test", "-addext",
                    "subjectAltName=DNS:bench.test"], check=True, capture_output=True)
    pem = d / "bench.pem"  # HAProxy wants both in one file
    pem.write_bytes(crt.read_bytes() + key.read_bytes())
    return crt, key, pem


def nginx_syntax(d, port, backends, nofile, crt, key, nginx_only):
    servers = "".join(f"        server 127.0.0.1:{b};\n" for b in backends)
    temp = "".join(f"    {k}_temp_path {d}/{k};\n"
                   for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""# bench TLS proxy: one worker, TLS 1.3, least_conn, keep-alive both sides
worker_processes 1;
worker_rlimit_nofile {nofile};
{"daemon off;" + chr(10) if nginx_only else ""}pid {d}/proxy.pid;
error_log {d}/error.log warn;
events {{ worker_connections {nofile}; }}
http {{
    access_log off;
    keepalive_requests 1000000;
{temp if nginx_only else ""}    upstream backends {{
        least_conn;
{servers}        keepalive {POOL};
        keepalive_requests 1000000;
    }}
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {crt};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.3;
        location / {{
            proxy_pass http://backends;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


def haproxy_config(port, backends, pem):
    per = POOL // max(1, len(backends))  # HAProxy's pool is per server
    servers = "".join(f"    server b{i} 127.0.0.1:{b} pool-max-conn {per}\n"
                      for i, b in enumerate(backends, 1))
    return f"""# bench TLS proxy: one thread, TLS 1.3, leastconn, keep-alive both sides
global
    maxconn {proxies.HAPROXY_MAXCONN}
    nbthread 1
    ssl-default-bind-options ssl-min-ver TLSv1.3
defaults
    mode http
    timeout connect 5s
    timeout client 75s
    timeout server 60s
    timeout http-keep-alive 75s
    http-reuse always
frontend bench
    bind 127.0.0.1:{port} ssl crt {pem}
    default_backend backends
backend backends
    balance leastconn
{servers}"""


class TlsMixin:
    def tls_files(self, crt, key, pem):
        self.crt, self.key, self.pem = crt, key, pem


class Nginx(TlsMixin, proxies.Nginx):
    def _config(self, d, port, backends, nofile):
        return nginx_syntax(d, port, backends, nofile, self.crt, self.key, True)


class Haproxy(TlsMixin, proxies.Haproxy):
    def _config(self, d, port, backends, nofile):
        return haproxy_config(port, backends, self.pem)


class Jern(TlsMixin, proxies.Jern):
    def _config(self, d, port, backends, nofile):
        return nginx_syntax(d, port, backends, nofile, self.crt, self.key, False)


def https_ready(port, child, timeout=10.0):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    deadline = time.monotonic() + timeout
    last = "nothing listening"
    while time.monotonic() < deadline:
        if not child.alive():
            return f"exited with status {child.p.returncode}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as raw:
                with ctx.wrap_socket(raw, server_hostname="bench.test") as s:
                    s.sendall(b"GET / HTTP/1.1\r\nHost: bench.test\r\nConnection: close\r\n\r\n")
                    data = b""
                    while chunk := s.recv(4096):
                        data += chunk
            if data.startswith(b"HTTP/1.1 200") and data.endswith(b"ok"):
                return None
            last = f"answered {data[:60]!r}"
        except OSError as e:
            last = str(e) or type(e).__name__
        time.sleep(0.05)
    return last


class TlsBench(bench.Bench):
    def __init__(self):
        super().__init__()
        quick = os.environ.get("BENCH_QUICK") == "1"
        self.seconds = bench.env_int("BENCH_SECONDS", 2 if quick else 5, 1, 600)
        self.rounds = bench.env_int("BENCH_ROUNDS", 1 if quick else 3, 1, 50)
        self.idle_conns = bench.env_int("BENCH_IDLE_CONNS", 300 if quick else 1500, 10, 20000)
        self.results = {}  # proxy -> figure -> [values]
        self.params = {}

    def start_proxy(self, px, tag):
        d = self.tmp / f"{px.name}-{tag}"
        d.mkdir(parents=True, exist_ok=True)
        conf = d / "proxy.conf"
        px.port = bench.free_port()
        conf.write_text(px._config(d, px.port, self.backends, self.nofile))
        px.child = self.track(proxies.Child(px._argv(d, conf), d / "output.log", cpus="proxy"))
        why = https_ready(px.port, px.child)
        if why:
            self.failed.append(f"{px.name}: did not come up: {why}\n{px.child.tail()}")
            print(f"bench: {px.name} did not come up: {why}\n{px.child.tail()}", file=sys.stderr)
            px.stop()
            return False
        return True

    def wrk_tls(self, port, close):
        argv = ["wrk", "-t1", f"-c{CONNS}", f"-d{self.seconds}s", "--timeout", "2s",
                "-s", str(self.lua)]
        if close:
            argv += ["-H", "Connection: close"]
        argv.append(f"https://127.0.0.1:{port}/")
        log = self.tmp / "wrk.log"
        child = self.track(proxies.Child(argv, log, cpus="load"))
        try:
            child.p.wait(timeout=self.seconds + 30)
        except subprocess.TimeoutExpired:
            pass
        child.stop()
        self.children.remove(child)
        text = log.read_text(errors="replace")
        m = re.search(r"^BENCH_JSON (\{.*\})$", text, re.M)
        if not m:
            raise RuntimeError(f"wrk failed: {text[-400:]}")
        w = json.loads(m.group(1))
        errors = sum(v for k, v in w.items() if k.startswith("err_"))
        # wrk counts the server's close after "Connection: close" as a read error
        # only when it cuts a response; report any, fail on many
        if w["requests"] == 0 or errors > w["requests"] // 100:
            raise RuntimeError(f"{w['requests']} requests, {errors} errors ({w})")
        return w["requests"], w["duration_us"] / 1e6, errors

    def s_time_reuse(self, port):
        argv = ["openssl", "s_time", "-connect", f"127.0.0.1:{port}", "-reuse", "-time",
                str(self.seconds), "-www", "/", "-tls1_3"]
        log = self.tmp / "s_time.log"
        child = self.track(proxies.Child(argv, log, cpus="load"))
        try:
            child.p.wait(timeout=self.seconds + 30)
        except subprocess.TimeoutExpired:
            pass
        child.stop()
        self.children.remove(child)
        text = log.read_text(errors="replace")
        # "Now timing with session id reuse." then "N connections in T real seconds"
        part = text.split("session id reuse", 1)[-1]
        m = re.search(r"(\d+) connections in ([\d.]+) real seconds", part)
        marks = re.search(r"^starting\n([r*]+)", part, re.M)
        if not m or not marks:
            raise RuntimeError(f"s_time failed: {text[-400:]}")
        if marks.group(1).count("*") > 1:
            raise RuntimeError(f"s_time: sessions were not resumed: {marks.group(1)[:80]}")
        return int(m.group(1)), float(m.group(2)), 0

    def negotiated(self, port):
        r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
                            "-servername", "bench.test"], input=b"", capture_output=True,
                           timeout=10)
        out = r.stdout.decode(errors="replace")
        cipher = re.search(r"Cipher is (\S+)", out)
        group = re.search(r"Server Temp Key: (\S+)", out) or re.search(
            r"Negotiated TLS1.3 group: (\S+)", out)
        return (cipher.group(1) if cipher else "?") + " / " + (
            group.group(1).rstrip(",") if group else "?")

    def idle_tls(self, px):
        if not self.start_proxy(px, "idle"):
            return None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        socks = []
        try:
            time.sleep(0.3)
            serving = procstat.serving(px.child.pid)
            before = procstat.status_kib(serving, "VmRSS")
            for _ in range(self.idle_conns):
                raw = socket.create_connection(("127.0.0.1", px.port), timeout=10)
                s = ctx.wrap_socket(raw, server_hostname="bench.test")
                s.sendall(b"GET / HTTP/1.1\r\nHost: bench.test\r\n\r\n")
                data = b""
                while not data.endswith(b"ok"):
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                socks.append(s)
            time.sleep(0.5)
            after = procstat.status_kib(procstat.serving(px.child.pid), "VmRSS")
            return (after - before) / len(socks)
        finally:
            for s in socks:
                s.close()
            px.stop()

    def add(self, px, figure, value):
        self.results.setdefault(px.name, {}).setdefault(figure, []).append(value)

    def begin(self, pxs, **extra):
        """Machine facts, the certificate, the backends and the proxies of pxs
        that start: returns (meta, running)."""
        self.nofile = bench.raise_nofile()
        meta = bench.machine(self.jern_bin)
        meta["pinning"] = self.set_pinning()
        meta.update({"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                     "load_before": bench.loadavg(), "rounds": self.rounds,
                     "seconds": self.seconds, **extra})
        crt, key, pem = make_cert(self.tmp)
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
        return meta, running

    def measure(self, px, what, fn):
        """Runs fn() -> (value...) while counting the CPU time of px's process
        tree: returns (fn's result, CPU seconds), or None after recording the
        failure and stopping px."""
        try:
            pids = procstat.tree(px.child.pid)
            cpu0 = procstat.cpu_seconds(pids)
            out = fn()
            return out, procstat.cpu_seconds(pids) - cpu0
        except RuntimeError as e:
            self.failed.append(f"{px.name}: {what}: {e}")
            print(f"bench: {px.name} failed: {e}", file=sys.stderr)
            px.stop()
            return None

    def row(self, label, fig, fmt):
        """One table line: the median of each proxy (± half the spread) and the ratios."""
        def med(p):
            v = self.results.get(p, {}).get(fig)
            return statistics.median(v) if v else None

        def cell(p, m):
            if m is None:
                return "-"
            v = self.results[p][fig]
            sp = f" ±{(max(v) - min(v)) / 2 / m * 100:.0f}%" if len(v) >= 2 and m else ""
            return fmt.format(m) + sp
        n, h, j = med("nginx"), med("haproxy"), med("jern")
        return (f"| {label} | {cell('nginx', n)} | {cell('haproxy', h)} | {cell('jern', j)} | "
                f"{j / n if n and j else 0:.2f} | {j / h if h and j else 0:.2f} |")

    def finish(self, name, meta):
        """Writes NAME.md and NAME.json (NAME-unpinned.* for BENCH_PIN=0)
        into the results folder and prints the table."""
        meta["load_after"] = bench.loadavg()
        if getattr(self, "layout", "pinned") == "unpinned":
            name += "-unpinned"
        md = self.render(meta)
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / f"{name}.md").write_text(md)
        (self.out / f"{name}.json").write_text(json.dumps(
            {"meta": meta, "results": self.results, "failed": self.failed}, indent=1) + "\n")
        print()
        print(md)
        return 1 if self.failed else 0

    def run(self):
        meta, running = self.begin([Nginx(), Haproxy(), Jern(self.jern_bin)],
                                   idle_conns=self.idle_conns)
        for px in running:
            meta.setdefault("negotiated", {})[px.name] = self.negotiated(px.port)
        print(f"bench tls: {', '.join(p.name for p in running)}; negotiated "
              f"{meta.get('negotiated')}", flush=True)
        for px in running:
            self.wrk_tls(px.port, close=False)  # warm-up
        figures = (("full_hs", "full handshakes/s"), ("keepalive", "keep-alive req/s"),
                   ("resumed_hs", "resumed handshakes/s"))
        for rnd in range(1, self.rounds + 1):
            for fig, label in figures:
                for px in list(running):
                    if fig == "resumed_hs":
                        got = self.measure(px, f"{label} round {rnd}",
                                           lambda: self.s_time_reuse(px.port))
                    else:
                        got = self.measure(px, f"{label} round {rnd}",
                                           lambda: self.wrk_tls(px.port, close=fig == "full_hs"))
                    if got is None:
                        running.remove(px)
                        continue
                    (n, secs, errs), cpu = got
                    v = n / secs
                    note = f"{n / cpu if cpu > 0 else 0:9.0f} per CPU-s" + (
                        f" ({errs} errors)" if errs else "")
                    self.add(px, fig + "_cpu", n / cpu if cpu > 0 else 0)
                    self.add(px, fig, v)
                    print(f"  round {rnd} {label:22} {px.name:8} {v:9.0f} {note}", flush=True)
        for px in running:
            px.stop()
        for px in running:
            kib = self.idle_tls(px)
            if kib is not None:
                self.add(px, "idle_kib", kib)
                print(f"  idle TLS conns         {px.name:8} {kib:9.2f} KiB/conn", flush=True)
        return self.finish("tls", meta)

    def render(self, meta):
        lines = [f"# TLS benchmark, {meta['date']}", "",
                 f"{meta['cpu']}, {meta['nproc']} CPUs, kernel {meta['kernel']}; "
                 f"{meta['rounds']} rounds x {meta['seconds']} s per figure; "
                 f"load average {meta['load_before']} before, {meta['load_after']} after; "
                 f"{meta['pinning']}.",
                 "Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + ".",
                 "Negotiated: " + ", ".join(f"{k} {v}" for k, v in
                                            meta.get("negotiated", {}).items()) + ".", "",
                 "| figure (median, ± half the spread) | nginx | HAProxy | jern | jern/nginx "
                 "| jern/HAProxy |", "|---|---|---|---|---|---|"]
        for fig, label in (("full_hs", "full handshakes/s, -c50"),
                           ("full_hs_cpu", "... per CPU-second of the proxy"),
                           ("keepalive", "keep-alive req/s over TLS, -c50"),
                           ("keepalive_cpu", "... per CPU-second of the proxy"),
                           ("resumed_hs", "resumed handshakes/s (s_time -reuse, one client)"),
                           ("resumed_hs_cpu", "... per CPU-second of the proxy"),
                           ("idle_kib", f"RSS per idle TLS connection, KiB "
                                        f"({meta['idle_conns']} conns)")):
            lines.append(self.row(label, fig, "{:.2f}" if fig == "idle_kib" else "{:.0f}"))
        for f in self.failed:
            lines.append(f"\nFAILED: {f.splitlines()[0]}")
        return "\n".join(lines) + "\n"


def main(cls=TlsBench):
    b = cls()
    try:
        return b.run()
    except KeyboardInterrupt:
        return 130
    finally:
        b.cleanup()
        subprocess.run(["rm", "-rf", str(b.tmp)], check=False)


if __name__ == "__main__":
    sys.exit(main())
