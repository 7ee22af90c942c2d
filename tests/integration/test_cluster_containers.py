"""Container instances on a cluster (docs/CLUSTER.md): one etcd member, two
`jern serve` nodes on 127.0.0.32-33 sharing one real Podman service. An image
app that may only run on k2 is answered through k1's gateway (a cluster
node publishes its instances' ports beyond loopback, where other nodes'
gateways reach them), and a private image is pulled by the node it is placed
on with the credentials of a deploy made on the other."""
import json
import shutil
import subprocess

import pytest

from deploykit import podman  # noqa: F401 (the fixture)
from deploykit import private_registry
from test_cluster import Cluster, wait_for

pytestmark = pytest.mark.skipif(not shutil.which("etcd"), reason="etcd-server not installed")

NODES = [("k1", "127.0.0.32", "jurisdiction=NO"), ("k2", "127.0.0.33", "jurisdiction=SE")]


def start(c):
    c.start_etcd()
    for name, _, _ in NODES:
        c.start_node(name)
    wait_for(lambda: len(json.loads(c.jern("k1", "nodes", "--json").stdout)["nodes"]) == 2, 20,
             "two nodes in jern nodes")


def test_a_container_on_one_node_is_answered_through_another(podman, tmp_path):  # noqa: F811
    c = Cluster(tmp_path, nodes=NODES, env={"DOCKER_HOST": f"unix://{podman['sock']}"})
    try:
        start(c)
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


def test_a_private_image_is_pulled_where_it_is_placed(podman, procs, tmp_path):  # noqa: F811
    """deploy --registry-user on k1, the app placed on k2: k2 pulls with the
    credentials (the password sealed in etcd with the cluster's key)."""
    from conftest import have
    if not have("docker-registry") or not have("htpasswd"):
        pytest.skip("docker-registry and htpasswd are needed (scripts/install-deps.sh)")
    ref = private_registry(procs, tmp_path, podman["reg_port"], podman["image"])
    c = Cluster(tmp_path, nodes=NODES, env={"DOCKER_HOST": f"unix://{podman['sock']}"})
    try:
        start(c)
        assert c.jern("k1", "apps", "set", "priv", "--require", "jurisdiction=SE").returncode == 0
        env = dict(JERN_REGISTRY_PASSWORD="s3cret")
        r = c.jern("k1", "deploy", "priv", "--image", ref, "--port", "8080", "--health", "/health",
                   "--registry-user", "jern", timeout=150, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        wait_for(lambda: c.get("k1", "priv")[0] == 200, 20, "priv through k1's gateway")
        for name in ("k1", "k2"):
            assert "s3cret" not in c.nodes[name]["proc"].output()
    finally:
        c.stop()
        subprocess.run("podman ps -aq --filter label=jern.app=priv | xargs -r podman rm -f",
                       shell=True, capture_output=True, timeout=120)
        subprocess.run(["podman", "rmi", "-f", ref], capture_output=True, timeout=60)
