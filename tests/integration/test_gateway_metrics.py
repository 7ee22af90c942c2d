"""The gateway's counters on the daemon's /metrics: responses by status class
and a response-time histogram per upstream server (per app), and gateway-wide
requests and client connections; each must move by what the test did."""
import socket
import time

import requests

from jerndaemon import Daemon
from test_daemon_api import parse_prometheus


def scrape(api):
    samples, types = parse_prometheus(api.get("/metrics").text)
    return samples, types


def val(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0)


def test_metrics_move_with_requests(procs, tmp_path, testapp):
    a = testapp("m")
    d = Daemon(procs, tmp_path).start()
    api = d.admin()
    api.post("/v1/apps", {"name": "met"})
    srv = f"127.0.0.1:{a}"
    api.post("/v1/upstreams/met/servers", {"addr": srv})
    before, types = scrape(api)
    assert types["jern_upstream_server_response_seconds"] == "histogram"
    assert types["jern_upstream_server_responses_total"] == "counter"
    req0 = val(before, "jern_gateway_requests_total")
    acc0 = val(before, "jern_gateway_connections_accepted_total")

    host = {"Host": "met.localhost"}
    with requests.Session() as s:  # one keep-alive connection, 5 requests
        for _ in range(3):
            assert s.get(d.url("/"), headers=host, timeout=5).status_code == 200
        assert s.get(d.url("/status/404"), headers=host, timeout=5).status_code == 404
        assert s.get(d.url("/status/503"), headers=host, timeout=5).status_code == 503
        r = s.get(d.url("/slow?ms=300"), headers=host, timeout=5)
        assert r.status_code == 200
        mid, _ = scrape(api)
        assert val(mid, "jern_gateway_connections_open") >= 1
    # a refused request counts as a request too, and never reaches the server
    with socket.create_connection(("127.0.0.1", d.port), timeout=5) as c:
        c.sendall(b"GET / HTTP/1.1\r\nHost: met.localhost\r\nX-A : b\r\n\r\n")
        assert c.recv(100).startswith(b"HTTP/1.1 400 ")

    after, _ = scrape(api)
    lab = {"upstream": "met", "server": srv}
    assert val(after, "jern_upstream_server_responses_total", code="2xx", **lab) == 4
    assert val(after, "jern_upstream_server_responses_total", code="4xx", **lab) == 1
    assert val(after, "jern_upstream_server_responses_total", code="5xx", **lab) == 1
    assert val(after, "jern_upstream_server_responses_total", code="3xx", **lab) == 0
    count = val(after, "jern_upstream_server_response_seconds_count", **lab)
    assert count == 6
    assert val(after, "jern_upstream_server_response_seconds_bucket", le="+Inf", **lab) == 6
    # the /slow?ms=300 answer is above 0.25 s, the others well below
    assert val(after, "jern_upstream_server_response_seconds_bucket", le="0.25", **lab) == 5
    assert val(after, "jern_upstream_server_response_seconds_bucket", le="0.5", **lab) == 6
    assert val(after, "jern_upstream_server_response_seconds_sum", **lab) >= 0.3
    buckets = [v for (n, l), v in after.items()
               if n == "jern_upstream_server_response_seconds_bucket" and ("server", srv) in l]
    assert len(buckets) == 12
    assert val(after, "jern_gateway_requests_total") - req0 == 7
    assert val(after, "jern_gateway_connections_accepted_total") - acc0 >= 2
    deadline = time.time() + 3
    while val(after, "jern_gateway_connections_open") != 0 and time.time() < deadline:
        time.sleep(0.1)
        after, _ = scrape(api)
    assert val(after, "jern_gateway_connections_open") == 0
