"""P2C against least_conn when one instance is slow (issue 22): three
jern-testapp instances behind `jern gateway`, one of them answering 50 ms
late (DELAY_MS=50); wrk -c50 through the gateway with `balance p2c` and with
`least_conn`, and the same p2c gateway with no slow instance as the
reference ("the fast instances' p99"). Interleaved rounds; prints the median
and the min-max of each.

    bench/skew.sh                    # 3 rounds x 5 s each
    BENCH_ROUNDS=1 BENCH_SECONDS=2 bench/skew.sh

All traffic goes to 127.0.0.1; every process it starts is stopped at the end."""
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import http.client
from pathlib import Path

import bench
import proxies

ROOT = Path(__file__).resolve().parents[1]
LUA = Path(__file__).resolve().parent / "latency.lua"
SKEW_MS = 50


def wait_http(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/health")
            if c.getresponse().status == 200:
                c.close()
                return True
        except OSError:
            pass
        time.sleep(0.02)
    return False


def main():
    seconds = bench.env_int("BENCH_SECONDS", 5, 1, 600)
    rounds = bench.env_int("BENCH_ROUNDS", 3, 1, 50)
    jern = os.environ.get("JERN_BIN") or str(ROOT / "build" / "jern")
    app = str(ROOT / "build" / "jern-testapp")
    tmp = Path(tempfile.mkdtemp(prefix="jern-skew-"))
    children = []
    try:
        ports = [bench.free_port() for _ in range(4)]
        for i, port in enumerate(ports):
            # instances 0 and 1 fast, 2 slow, 3 fast (the reference's third)
            env = {"PORT": str(port), "HOST": "127.0.0.1", "APP_NAME": f"i{i}",
                   "DELAY_MS": str(SKEW_MS if i == 2 else 0)}
            children.append(proxies.Child([app], tmp / f"app{i}.log", env=env))
            if not wait_http(port):
                sys.exit(f"skew: jern-testapp on {port} did not come up")
        gws = {}
        for name, method, pool in (("p2c", "balance p2c;", ports[:3]),
                                   ("least_conn", "least_conn;", ports[:3]),
                                   ("p2c, no slow instance", "balance p2c;",
                                    [ports[0], ports[1], ports[3]])):
            port = bench.free_port()
            servers = "".join(f"server 127.0.0.1:{p};" for p in pool)
            conf = tmp / f"gw{len(gws)}.conf"
            conf.write_text(
                f"worker_processes 1;\nerror_log {tmp}/gw{len(gws)}.err warn;\n"
                f"http {{ access_log off; upstream app {{ {method} {servers} keepalive 64; }}\n"
                f"  server {{ listen 127.0.0.1:{port}; location / {{ proxy_pass http://app; }} }} }}\n")
            children.append(proxies.Child([jern, "gateway", "-c", conf], tmp / f"gw{len(gws)}.log"))
            if not wait_http(port):
                sys.exit(f"skew: jern gateway ({name}) did not come up")
            gws[name] = port
        res = {n: [] for n in gws}
        print(f"skew: one of three instances {SKEW_MS} ms slow, wrk -c50, {rounds} x {seconds} s",
              flush=True)
        for rnd in range(1, rounds + 1):
            for name, port in gws.items():
                out = subprocess.run(["wrk", "-t1", "-c50", f"-d{seconds}s", "--timeout", "2s",
                                      "-s", str(LUA), f"http://127.0.0.1:{port}/"],
                                     capture_output=True, text=True, timeout=seconds + 30)
                m = re.search(r"^BENCH_JSON (\{.*\})$", out.stdout, re.M)
                if not m:
                    sys.exit(f"skew: wrk failed: {out.stdout[-400:]}{out.stderr[-400:]}")
                w = json.loads(m.group(1))
                res[name].append((w["p99_us"] / 1000, w["requests"] / (w["duration_us"] / 1e6)))
                print(f"  round {rnd} {name:22} p99 {w['p99_us'] / 1000:8.2f} ms  "
                      f"{res[name][-1][1]:8.0f} req/s", flush=True)

        def line(name):
            p99 = [x[0] for x in res[name]]
            rps = [x[1] for x in res[name]]
            return (f"p99 {statistics.median(p99):.2f} ms ({min(p99):.2f}-{max(p99):.2f}), "
                    f"{statistics.median(rps):.0f} req/s")
        print(f"p2c vs least_conn, one of three instances {SKEW_MS} ms slow, -c50, {rounds} "
              f"rounds: p2c {line('p2c')}; least_conn {line('least_conn')}; "
              f"reference without the slow instance {line('p2c, no slow instance')}")
    finally:
        for c in reversed(children):
            c.stop()
        subprocess.run(["rm", "-rf", str(tmp)], check=False)


if __name__ == "__main__":
    main()
