"""Container instances on a cluster (docs/CLUSTER.md): one etcd member, two
`jern serve` nodes on 127.0.0.32-33 sharing one real Podman service. An image
app that may only run on k2 is answered through k1's gateway: a cluster
node publishes its instances' ports beyond loopback, where other nodes'
gateways reach them."""
import json
import shutil
import subprocess

import pytest

from deploykit import podman  # noqa: F401 (the fixture)
from test_cluster import Cluster, wait_for

pytestmark = pytest.mark.skipif(not shutil.which("etcd"), reason="etcd-server not installed")

NODES = [("k1", "127.0.0.32", "jurisdiction=NO"), ("k2", "127.0.0.33", "jurisdiction=SE")]


def test_a_container_on_one_node_is_answered_through_another(podman, tmp_path):  # noqa: F811
    c = Cluster(tmp_path, nodes=NODES, env={"DOCKER_HOST": f"unix://{podman['sock']}"})
    try:
        c.start_etcd()
        for name, _, _ in NODES:
            c.start_node(name)
        wait_for(lambda: len(json.loads(c.jern("k1", "nodes", "--json").stdout)["nodes"]) == 2,
                 20, "two nodes in jern nodes")
        assert c.jern("k1", "apps", "set", "box", "--require", "jurisdiction=SE").returncode == 0
        r = c.jern("k1", "deploy", "box", "--image", podman["image"], "--port", "8080",
                   "--health", "/health", timeout=150)
        assert r.returncode == 0, r.stdout + r.stderr
        wait_for(lambda: c.get("k1", "box")[0] == 200, 20, "box through k1's gateway")
        st, body = c.get("k1", "box")
        assert body == f"hello from testapp {podman['tag']}\n".encode(), body
        assert c.get("k2", "box")[0] == 200
    finally:
        c.stop()
        subprocess.run("podman ps -aq --filter label=jern.app=box | xargs -r podman rm -f",
                       shell=True, capture_output=True, timeout=120)
