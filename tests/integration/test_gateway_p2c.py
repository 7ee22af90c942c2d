"""Latency-aware balancing (balance p2c, the default of app upstreams): one of
three instances turns 50 ms slow -> within a second it gets under 10% of the
requests and the p99 of the whole stays within 2x the fast instances' p99;
when it is fast again it gets its share back."""
import http.client
import threading
import time

from rawbackend import KeepAliveBackend
from test_gateway import start_gateway

CLIENTS = 8


class Load:
    """CLIENTS keep-alive clients in a loop; records (start, end, backend)."""

    def __init__(self, port):
        self.port = port
        self.stop = False
        self.lock = threading.Lock()
        self.log = []
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(CLIENTS)]
        for t in self.threads:
            t.start()

    def _run(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        while not self.stop:
            t0 = time.monotonic()
            c.request("GET", "/")
            r = c.getresponse()
            body = r.read()
            t1 = time.monotonic()
            assert r.status == 200
            with self.lock:
                self.log.append((t0, t1, body.split()[-1].decode()))
        c.close()

    def window(self, since, until):
        with self.lock:
            return [x for x in self.log if since <= x[0] and x[1] <= until]

    def end(self):
        self.stop = True
        for t in self.threads:
            t.join(10)


def p99(lat):
    lat = sorted(lat)
    return lat[min(len(lat) - 1, int(len(lat) * 0.99))]


def share(rows, name):
    return sum(1 for r in rows if r[2] == name) / max(1, len(rows))


def run_skew(procs, tmp_path, method):
    bes = {n: KeepAliveBackend(n) for n in ("a", "b", "c")}
    servers = "".join(f"server 127.0.0.1:{be.port};" for be in bes.values())
    _, port, _ = start_gateway(procs, tmp_path, f"""
        upstream app {{ {method} {servers} keepalive 32; }}
        server {{ listen 127.0.0.1:{{port}}; location / {{ proxy_pass http://app; }} }}""",
                               workers=2)
    load = Load(port)
    try:
        time.sleep(0.7)
        t_fast = time.monotonic()
        before = load.window(0, t_fast)
        bes["c"].delay_s = 0.05
        time.sleep(2.0)  # the first second: reaction; the second: the skewed state
        t_end = time.monotonic()
        skew = load.window(t_fast + 1.0, t_end)
        bes["c"].delay_s = 0.0
        # recovered: c's share over the last second is back near a third
        recovered_after = None
        deadline = time.monotonic() + 8.0
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = time.monotonic()
            if share(load.window(now - 1.0, now), "c") >= 0.2:
                recovered_after = now - t_end
                break
    finally:
        load.end()
    for be in bes.values():
        be.close()
    return before, skew, recovered_after


def test_p2c_sheds_a_slow_instance_and_takes_it_back(procs, tmp_path):
    before, skew, recovered_after = run_skew(procs, tmp_path, "balance p2c;")
    assert share(before, "c") > 0.15, "all fast: c had its share"
    lat_all = [t1 - t0 for t0, t1, _ in skew]
    lat_fast = [t1 - t0 for t0, t1, n in skew if n != "c"]
    assert len(skew) > 200, len(skew)
    assert share(skew, "c") < 0.10, share(skew, "c")
    assert p99(lat_all) <= 2 * p99(lat_fast), (p99(lat_all), p99(lat_fast), share(skew, "c"))
    assert recovered_after is not None, "the recovered instance did not get its share back"
