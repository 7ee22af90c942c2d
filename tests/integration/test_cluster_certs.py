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


def start(procs, tmp_path):
    """etcd, Pebble and the three nodes, each with an HTTPS listener on the
    same port: (cluster, https port, CA, http port). The caller stops c."""
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
    except BaseException:
        c.stop()
        raise
    return c, sport, ca, http


def test_one_node_orders_and_every_node_serves_the_certificate(procs, tmp_path):
    c, sport, ca, http = start(procs, tmp_path)
    try:
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


def own_cert(tmp, domain):
    """A self-signed P-256 certificate for domain, good for 30 days: (cert, key, serial)."""
    crt, key = tmp / f"{domain}.crt", tmp / f"{domain}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out", str(crt),
                    "-days", "30", "-subj", f"/CN={domain}", "-addext",
                    f"subjectAltName=DNS:{domain}"], check=True, capture_output=True)
    r = subprocess.run(["openssl", "x509", "-noout", "-serial", "-in", str(crt)],
                       capture_output=True, text=True, check=True)
    return crt, key, r.stdout.strip().split("=")[-1].upper()


def test_a_certificate_of_the_users_own_reaches_every_node(procs, tmp_path):
    """jern cert add on one node: every node serves that certificate (its key
    sealed in etcd), a new one added on another node replaces it everywhere,
    the scheduler's pruning of domains no app has leaves it alone, and jern
    cert remove on any node removes it from every node."""
    c, sport, _, _ = start(procs, tmp_path)
    try:
        crt, key, first = own_cert(tmp_path, "own.test")
        r = c.jern("c1", "cert", "add", "own.test", "--cert", str(crt), "--key", str(key))
        assert r.returncode == 0, r.stdout + r.stderr
        wait_for(lambda: set(served(c, sport, "own.test").values()) == {first}, 30,
                 "the user's certificate served by every node")
        stored = etcd_value(c, "/jern/certs/own.test")
        assert stored and '"own":true' in stored and "PRIVATE KEY" not in stored, stored
        listed = json.loads(c.jern("c3", "certs", "--json").stdout)["certs"]
        assert [(x["source"], x.get("serial", "").upper().replace(":", ""))
                for x in listed if x["domain"] == "own.test"] == [("user", first)], listed

        # a new one added through another node replaces it on all three
        (tmp_path / "second").mkdir()
        crt2, key2, second = own_cert(tmp_path / "second", "own.test")
        r = c.jern("c2", "cert", "add", "own.test", "--cert", str(crt2), "--key", str(key2))
        assert r.returncode == 0, r.stdout + r.stderr
        wait_for(lambda: set(served(c, sport, "own.test").values()) == {second}, 30,
                 "the second certificate served by every node")
        time.sleep(2)  # a few of the scheduler's rounds: no app has own.test, the record stays
        assert etcd_value(c, "/jern/certs/own.test"), "pruned like an app domain's"

        r = c.jern("c3", "cert", "remove", "own.test")
        assert r.returncode == 0, r.stdout + r.stderr
        wait_for(lambda: etcd_value(c, "/jern/certs/own.test") is None, 15,
                 "the record gone from etcd")
        wait_for(lambda: not any(x["domain"] == "own.test" and x.get("serial")
                                 for n in c.nodes
                                 for x in json.loads(c.jern(n, "certs", "--json").stdout)["certs"]),
                 30, "the certificate gone from every node")
        assert set(served(c, sport, "own.test").values()) != {second}
    finally:
        c.stop()
