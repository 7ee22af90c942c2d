"""Certificates on a cluster (docs/CLUSTER.md, "Certificates"): three `jern
serve` nodes on 127.0.0.42-44, each with an HTTP and an HTTPS listener on the
same two ports, a real etcd, and Pebble (the ACME test CA) whose DNS sends the
domain to the second node only. One node orders the certificate, whichever
node the CA's HTTP-01 request reaches answers it, and every node serves the
same certificate; a renewal asked on another node reaches them all."""
import json
import re
import shutil
import subprocess
import time

import pytest

from conftest import free_port, have
from pebblekit import Pebble
from test_cluster import Cluster, etcd_value, wait_for

pytestmark = [pytest.mark.skipif(not shutil.which("etcd"), reason="etcd-server not installed"),
              pytest.mark.skipif(not have("pebble"), reason="pebble not installed")]

NODES = [("c1", "127.0.0.42", "jurisdiction=NO"), ("c2", "127.0.0.43", "jurisdiction=NO"),
         ("c3", "127.0.0.44", "jurisdiction=NO")]


def serial(addr, port, host):
    out = subprocess.run(["openssl", "s_client", "-connect", f"{addr}:{port}", "-servername",
                          host], input="", capture_output=True, text=True, timeout=10).stdout
    r = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=out, capture_output=True,
                       text=True)
    return r.stdout.strip().split("=")[-1].upper() if r.returncode == 0 else None


def served(c, sport, host):
    return {n: serial(c.nodes[n]["addr"], sport, host) for n in c.nodes}


def test_one_node_orders_and_every_node_serves_the_certificate(procs, tmp_path):
    http, sport = free_port(), free_port()
    ca = Pebble(procs, tmp_path, http)
    c = Cluster(tmp_path, nodes=NODES, port=http,
                extra=lambda addr: f"listen {addr}:{sport} ssl; {ca.jern_block()}")
    try:
        c.start_etcd()
        for name, _, _ in NODES:
            c.start_node(name)
        wait_for(lambda: len(json.loads(c.jern("c1", "nodes", "--json").stdout)["nodes"]) == 3,
                 20, "three nodes")
        # the CA resolves the domain to c2 alone: whoever orders, c2 must answer
        ca.add_a("shop.test", "127.0.0.43")
        r = c.jern("c3", "create", "shop", "--domain", "shop.test")
        assert r.returncode == 0, r.stdout + r.stderr
        t0 = time.time()
        wait_for(lambda: len(set(served(c, sport, "shop.test").values()) - {None}) == 1 and
                 None not in served(c, sport, "shop.test").values(), 60,
                 "one certificate served by every node")
        took = time.time() - t0
        first = served(c, sport, "shop.test")["c1"]
        logs = {n: "".join(f.read_text() for f in (c.tmp / n).glob("serve-*.log")) for n in c.nodes}
        ordered = [n for n, t in logs.items() if "certificate for shop.test: requesting" in t]
        assert len(ordered) == 1, ordered
        installed = [n for n, t in logs.items()
                     if "certificate for shop.test installed from the cluster" in t]
        assert sorted(installed + ordered) == ["c1", "c2", "c3"], (ordered, installed)
        assert f"shop.test:{http}/.well-known/acme-challenge/" in ca.log()
        print(f"\ncertificate on three nodes {took:.1f}s after the domain was added "
              f"(ordered by {ordered[0]}, validated through c2)")
        # the key went through etcd sealed, never in the clear
        stored = etcd_value(c, "/jern/certs/shop.test")
        assert stored and "BEGIN CERTIFICATE" in stored and "PRIVATE KEY" not in stored

        # a renewal asked on another node than the one that ordered: every
        # node serves the new certificate
        other = next(n for n in ("c1", "c2", "c3") if n != ordered[0])
        r = c.jern(other, "cert", "renew", "shop.test")
        assert r.returncode == 0, r.stdout + r.stderr
        wait_for(lambda: set(served(c, sport, "shop.test").values()) not in ({first}, {None}) and
                 len(set(served(c, sport, "shop.test").values())) == 1, 60,
                 "the renewed certificate on every node")
        # the domain removed through a node: no copy of its key stays in etcd
        r = c.jern("c1", "domains", "shop", "remove", "shop.test")
        assert r.returncode == 0, r.stdout + r.stderr
        wait_for(lambda: etcd_value(c, "/jern/certs/shop.test") is None, 15,
                 "the certificate's record gone from etcd")
    finally:
        c.stop()
