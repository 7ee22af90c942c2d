"""Managed MariaDB in a container (jern db create --image): real Podman (its
Docker-compatible service), an image built from this machine's own MariaDB
(scripts/build-mariadb-image.sh), a real Python app (pymysql) writing rows
through DATABASE_URL, real kill -9s of the server, the container and the
daemon. One daemon and one database are shared by the module; the tests run
in order. Every container and mariadbd the module starts is removed at the end."""
import json
import os
import signal
import subprocess
import time
import uuid

import pytest

from conftest import ROOT, have
from deploykit import DeployDaemon, wait_for
from test_db import DBAPP, ModuleProcs, app_url, connect, db_info, mariadbd_pids

pymysql = pytest.importorskip("pymysql")
pytestmark = pytest.mark.skipif(
    not have("mariadbd") or not have("mariadb-install-db") or not have("podman"),
    reason="mariadb-server and podman are needed (scripts/install-deps.sh)")

RUN = uuid.uuid4().hex[:6]
IMAGE = f"localhost/jern-mariadb:{RUN}"


def podman(*args, check=False):
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=60,
                          check=check)


def containers(name):
    """Names of the containers (running or not) for database name of this module."""
    r = podman("ps", "-a", "--filter", f"label=jern.instance={name}", "--filter",
               "label=jern.app=jern.db", "--format", "{{.Names}}")
    out = []
    for n in r.stdout.split():
        st = podman("inspect", "--format", "{{.State.Status}}", n).stdout.strip()
        out.append(f"{n} {st}")
    return out


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dbimage")
    eng = tmp / "engine"
    subprocess.run([str(ROOT / "scripts/podman-service.sh"), "start", str(eng)], check=True,
                   timeout=60)
    old_conf = os.environ.get("CONTAINERS_CONF")
    os.environ["CONTAINERS_CONF"] = str(eng / "containers.conf")
    subprocess.run([str(ROOT / "scripts/build-mariadb-image.sh"), RUN], check=True,
                   capture_output=True, timeout=300)
    procs = ModuleProcs(tmp)
    d = DeployDaemon(procs, tmp, docker_sock=str(eng / "podman.sock"))
    d.start()
    box = {"d": d, "procs": procs, "tmp": tmp, "engine": eng}
    try:
        yield box
    finally:
        d = box["d"]
        if d.proc.alive():
            for db in d.admin().get("/v1/databases").json().get("databases", []):
                d.jern("db", "destroy", db["name"], "--force")
        d.cleanup_exec()
        for p in reversed(procs.all):
            p.stop()
        for pid in mariadbd_pids(d.state):
            os.kill(pid, signal.SIGKILL)
        for db in ("main", "main-copy", "bad"):
            for line in containers(db):
                podman("rm", "-f", line.split()[0])
        podman("rmi", "-f", IMAGE)
        subprocess.run([str(ROOT / "scripts/podman-service.sh"), "stop", str(eng)], timeout=60)
        if old_conf is None:
            os.environ.pop("CONTAINERS_CONF", None)
        else:
            os.environ["CONTAINERS_CONF"] = old_conf


def test_missing_image_and_missing_engine_are_clear_errors(env, procs, tmp_path):
    d = env["d"]
    r = d.jern("db", "create", "bad", "--memory", "256M", "--image",
               f"localhost/jern-mariadb:no-such-{RUN}")
    assert r.returncode != 0
    assert "is not available" in r.stderr and "podman build" in r.stderr, r.stderr
    assert not (d.state / "db" / "bad").exists()
    assert d.admin().get("/v1/databases").json()["databases"] == []
    assert containers("bad") == []
    # A daemon whose engine socket answers nothing: the error names the socket.
    none = DeployDaemon(procs, tmp_path, docker_sock=str(tmp_path / "no-engine.sock"))
    none.start()
    r = none.jern("db", "create", "bad", "--memory", "256M", "--image", IMAGE)
    assert r.returncode != 0, r.stdout
    assert "needs a container engine" in r.stderr and "no-engine.sock" in r.stderr, r.stderr
    assert not (none.state / "db" / "bad").exists()


def test_create_runs_mariadbd_in_a_container_and_an_app_uses_it(env):
    d = env["d"]
    r = d.jern("db", "create", "main", "--memory", "256M", "--image", IMAGE)
    assert r.returncode == 0, r.stdout + r.stderr
    info = db_info(d)
    assert info["runs_as"] == "container" and info["image"] == IMAGE, info
    assert info["state"] == "running"
    assert info["memory_limit_bytes"] == 256 << 20
    # The container's mariadbd is this machine's process on jern's my.cnf.
    assert mariadbd_pids(d.state) == [info["pid"]]
    assert containers("main") == [f"{info['container']} running"], containers("main")
    insp = json.loads(podman("inspect", info["container"], check=True).stdout)[0]
    assert insp["HostConfig"]["NetworkMode"] == "host"
    assert insp["HostConfig"]["Memory"] == 256 << 20
    assert insp["Config"]["Image"].endswith(IMAGE) or IMAGE in insp["ImageName"]
    r = d.jern("export")  # the spec of what runs names the image
    assert r.returncode == 0 and IMAGE in r.stdout, r.stdout + r.stderr
    # An app attached to it writes and reads rows through DATABASE_URL.
    assert d.jern("create", "shop").returncode == 0
    r = d.jern("db", "attach", "main", "shop")
    assert r.returncode == 0, r.stderr
    r = d.jern("deploy", "shop", "--cmd", DBAPP, "--health", "/health")
    assert r.returncode == 0, r.stdout + r.stderr
    import requests
    for i in range(20):
        x = requests.post(d.url(f"/rows?v=r{i}"), headers={"Host": "shop.localhost"}, timeout=10)
        assert x.status_code == 201, x.text
    assert d.get("shop", "/rows").json()["count"] == 20
    url = app_url(d, "shop")
    assert f":{info['port']}/shop" in url
    with connect(url) as c, c.cursor() as cur:
        cur.execute("SELECT @@version, @@innodb_flush_method, @@bind_address")
        ver, flush, bind = cur.fetchone()
    assert "MariaDB" in ver and flush == "O_DIRECT" and bind == "127.0.0.1"


def rows(url):
    with connect(url) as c, c.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM keep_t")
        return cur.fetchone()[0]


def restarted(d, old):
    def ok():
        i = db_info(d)
        return i["state"] == "running" and i["pid"] not in (0, old) and \
            mariadbd_pids(d.state) == [i["pid"]]
    wait_for(ok, 60, what="mariadbd restarted in a new container")
    return db_info(d)


def test_killed_mariadbd_and_killed_container_are_restarted(env):
    d = env["d"]
    url = app_url(d, "shop")
    with connect(url) as c, c.cursor() as cur:
        cur.execute("CREATE TABLE keep_t (id INT PRIMARY KEY, v TEXT)")
        cur.executemany("INSERT INTO keep_t VALUES (%s, %s)", [(i, f"v{i}") for i in range(200)])
    info = db_info(d)
    os.kill(info["pid"], signal.SIGKILL)
    info2 = restarted(d, info["pid"])
    assert info2["restarts"] == info["restarts"] + 1
    assert rows(url) == 200  # InnoDB recovery: every committed row
    assert containers("main") == [f"{info2['container']} running"]
    # The engine kills the container: the same.
    podman("kill", info2["container"], check=True)
    info3 = restarted(d, info2["pid"])
    assert info3["restarts"] == info2["restarts"] + 1
    assert rows(url) == 200
    assert containers("main") == [f"{info3['container']} running"]
    assert d.get("shop", "/rows").status_code == 200


def test_kill9_of_the_daemon_adopts_the_container(env):
    d = env["d"]
    before = db_info(d)["pid"]
    d.kill9()
    time.sleep(0.5)
    assert mariadbd_pids(d.state) == [before]  # the container outlives the daemon
    d.start()
    wait_for(lambda: db_info(d)["state"] == "running", 30, what="database running again")
    assert db_info(d)["pid"] == before
    assert mariadbd_pids(d.state) == [before]  # adopted, not doubled
    assert len(containers("main")) == 1
    assert "adopted the running mariadbd" in d.proc.output()


def test_backup_drop_restore_through_the_published_port(env):
    d = env["d"]
    url = app_url(d, "shop")
    r = d.jern("db", "backup", "main", "--json")
    assert r.returncode == 0, r.stderr
    backup = json.loads(r.stdout)["id"]
    with connect(url) as c, c.cursor() as cur:
        cur.execute("DROP TABLE keep_t")
    r = d.jern("db", "restore", "main", backup)
    assert r.returncode == 0, r.stderr
    assert rows(url) == 200
    # --to: a second server from the same image
    r = d.jern("db", "restore", "main", backup, "--to", "main-copy")
    assert r.returncode == 0, r.stderr
    copy = db_info(d, "main-copy")
    assert copy["runs_as"] == "container" and copy["image"] == IMAGE
    admin = json.loads(d.jern("db", "url", "main-copy", "--json").stdout)["admin_url"]
    with connect(admin) as c, c.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM shop.keep_t")
        assert cur.fetchone() == (200,)
    assert d.jern("db", "destroy", "main-copy").returncode == 0
    assert containers("main-copy") == []


def test_destroy_removes_the_container_and_keeps_a_final_backup(env):
    d = env["d"]
    pid = db_info(d)["pid"]
    r = d.jern("db", "destroy", "main", "--force", "--json")
    assert r.returncode == 0, r.stderr
    final = json.loads(r.stdout)["final_backup"]
    assert list((d.state / "db-archive").glob(f"main-*/{final}.sql"))
    assert containers("main") == []
    assert mariadbd_pids(d.state) == []
    assert pid not in mariadbd_pids("/")
    assert not (d.state / "db" / "main").exists()
