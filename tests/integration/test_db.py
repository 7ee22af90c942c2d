"""Managed MariaDB (jern db): real mariadbd servers started through jern on
free loopback ports, a real Python app (pymysql) reading and writing rows
through DATABASE_URL, real kill -9s. One daemon and one database are shared
by the module (each mariadbd start costs seconds); the tests run in order.
Every mariadbd the module starts is stopped at the end."""
import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import JERN, ROOT, free_port, have
from deploykit import DeployDaemon, wait_for

pymysql = pytest.importorskip("pymysql")
pytestmark = pytest.mark.skipif(not have("mariadbd") or not have("mariadb-install-db"),
                                reason="mariadb-server is not installed")

DBAPP = f"/usr/bin/python3 {ROOT / 'tests' / 'app' / 'dbapp.py'}"


class ModuleProcs:
    """procs for a module-scoped daemon (conftest's procs is per test)."""

    def __init__(self, tmp):
        self.tmp, self.all = tmp, []

    def start(self, args, name="proc", env=None, cwd=None):
        from conftest import Proc
        p = Proc(args, self.tmp / f"{name}-{len(self.all)}.log", env=env, cwd=cwd)
        self.all.append(p)
        return p


def mariadbd_pids(state):
    """Every mariadbd process (zombies aside) started on a my.cnf under state."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            argv = (d / "cmdline").read_bytes().split(b"\0")
            stat = (d / "stat").read_text()
        except OSError:
            continue
        if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            continue
        if argv and argv[0].endswith(b"mariadbd") and any(
                a.startswith(b"--defaults-file=" + str(state).encode()) for a in argv):
            pids.append(int(d.name))
    return pids


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("db")
    procs = ModuleProcs(tmp)
    d = DeployDaemon(procs, tmp)
    d.start()
    port = free_port()
    r = d.jern("db", "create", "main", "--memory", "256M", "--port", str(port))
    assert r.returncode == 0, r.stderr
    box = {"d": d, "port": port, "procs": procs, "tmp": tmp}
    yield box
    d = box["d"]
    for db in d.admin().get("/v1/databases").json().get("databases", []):
        d.jern("db", "destroy", db["name"], "--force")
    d.cleanup_exec()
    for p in reversed(procs.all):
        p.stop()
    for pid in mariadbd_pids(d.state):
        os.kill(pid, signal.SIGKILL)


def db_info(d, name="main"):
    r = d.admin().get(f"/v1/databases/{name}")
    assert r.status == 200, r
    return r.json()


def app_url(d, app, name="main"):
    r = d.jern("db", "url", name, "--json")
    assert r.returncode == 0, r.stderr
    for a in json.loads(r.stdout)["apps"]:
        if a["app"] == app:
            return a["url"]
    raise AssertionError(f"{app} not attached: {r.stdout}")


def connect(url):
    from urllib.parse import urlparse
    u = urlparse(url)
    return pymysql.connect(host=u.hostname, port=u.port, user=u.username, password=u.password,
                           database=u.path.lstrip("/"), autocommit=True, connect_timeout=3,
                           read_timeout=5, write_timeout=5)


def test_bad_input_is_refused_and_leaves_nothing(env):
    d = env["d"]
    before = sorted(p.name for p in (d.state / "db").iterdir())
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen(1)
    cases = [
        (["db", "create", "Bad_Name"], "invalid database name"),
        (["db", "create", "small", "--memory", "100M"], "below the workable minimum"),
        (["db", "create", "huge", "--memory", "lots"], "invalid memory"),
        (["db", "create", "taken", "--memory", "256M", "--port", str(env["port"])],
         "taken by database 'main'"),
        (["db", "create", "busy", "--memory", "256M", "--port", str(held.getsockname()[1])],
         "in use on 127.0.0.1"),
        (["db", "create", "main"], "exists already"),
        (["db", "create", "solo", "--memory", "256M", "--node", "n2"], "this jern is a single node"),
        (["db", "attach", "main", "no-such-app"], "app 'no-such-app' does not exist"),
        (["db", "attach", "no-such-db", "x"], "database 'no-such-db' does not exist"),
        (["db", "restore", "main", "../../etc/passwd"], "has no backup"),
    ]
    try:
        for args, want in cases:
            r = d.jern(*args)
            assert r.returncode != 0, args
            assert want in r.stderr, (args, r.stderr)
    finally:
        held.close()
    assert sorted(p.name for p in (d.state / "db").iterdir()) == before
    names = [x["name"] for x in d.admin().get("/v1/databases").json()["databases"]]
    assert names == ["main"]
    assert len(mariadbd_pids(d.state)) == 1


def test_config_explains_every_line(env):
    d = env["d"]
    r = d.jern("db", "config", "main")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    # 256M: the server's own ~112M and 32 connections come first (test below)
    assert "innodb_buffer_pool_size = 64M" in lines
    assert "innodb_flush_method = O_DIRECT" in lines
    settings = [l for l in lines if " = " in l and not l.startswith("#")]
    for s in settings:
        i = lines.index(s)
        assert lines[i - 1].startswith("# "), s
    # and the server really runs with it
    admin = json.loads(d.jern("db", "url", "main", "--json").stdout)["admin_url"]
    with connect(admin) as c, c.cursor() as cur:
        cur.execute("SELECT @@innodb_buffer_pool_size, @@innodb_flush_method, @@log_bin,"
                    " @@character_set_server, @@bind_address, @@sync_binlog,"
                    " @@innodb_flush_log_at_trx_commit, @@tmpdir")
        pool, flush, log_bin, cs, bind, sync_binlog, trx_commit, tmpdir = cur.fetchone()
    assert (pool, flush, log_bin, cs, bind) == (64 << 20, "O_DIRECT", 1, "utf8mb4", "127.0.0.1")
    assert (sync_binlog, trx_commit) == (1, 1)  # durable through a power loss
    # its own tmpdir, not /tmp, which other servers and tools share
    assert Path(tmpdir) == d.state / "db" / "main" / "tmp", tmpdir
    assert (d.state / "db" / "main" / "tmp").is_dir()
    # --memory is enforced by a memory cgroup where one can be made, and said when not
    info = db_info(d)
    assert info["engine"] == "mariadb" and info["version"].startswith("10.")
    assert info["size_bytes"] > 10 << 20
    if info["memory_limit_bytes"]:
        assert info["memory_limit_bytes"] == 256 << 20
        cg = Path(f"/proc/{info['pid']}/cgroup").read_text()
        assert "/jern-db-" in cg, cg
    else:
        assert "--memory is not enforced" in d.proc.output()


def oom_kills(pid):
    """How many processes the memory cgroup of pid has had killed (cgroup v1 or v2)."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        hier, ctrl, path = line.split(":", 2)
        if "memory" in ctrl.split(","):
            f = Path("/sys/fs/cgroup/memory") / path.lstrip("/") / "memory.oom_control"
        elif hier == "0":
            f = Path("/sys/fs/cgroup") / path.lstrip("/") / "memory.events"
        else:
            continue
        if f.exists():
            for l in f.read_text().splitlines():
                if l.startswith("oom_kill "):
                    return int(l.split()[1])
    return None


@pytest.mark.skipif(not have("sysbench"), reason="sysbench is not installed")
def test_max_connections_busy_fit_the_memory_limit(env):
    """The server runs in a memory cgroup of --memory: the pool, its own memory
    and max_connections busy connections must fit in it, or a busy database
    is an OOM kill (it was: 256M gave a 128M pool and 64 connections)."""
    d = env["d"]
    info = db_info(d)
    if not info["memory_limit_bytes"]:
        pytest.skip("no memory cgroup here: --memory is not enforced")
    pid = info["pid"]
    kills = oom_kills(pid)
    assert kills is not None, "no OOM-kill counter found for the server's memory cgroup"
    from urllib.parse import urlparse
    u = urlparse(json.loads(d.jern("db", "url", "main", "--json").stdout)["admin_url"])
    with connect(u.geturl()) as c, c.cursor() as cur:
        cur.execute("SELECT @@max_connections")
        conns = cur.fetchone()[0]
        cur.execute("CREATE DATABASE sbtest")
    sb = ["sysbench", "oltp_read_write", "--db-driver=mysql", f"--mysql-host={u.hostname}",
          f"--mysql-port={u.port}", f"--mysql-user={u.username}",
          f"--mysql-password={u.password}", "--mysql-db=sbtest", "--tables=2",
          "--table-size=300000", "--rand-type=uniform"]
    try:
        # ~150 MiB of rows: more than the pool holds (128M before the budget), so the pool fills
        r = subprocess.run(sb + ["prepare"], capture_output=True, text=True, timeout=180)
        assert r.returncode == 0, r.stdout + r.stderr
        # every connection the server allows, less two (jern's own and this test's)
        r = subprocess.run(sb + [f"--threads={conns - 2}", "--time=12", "run"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        assert "Lost connection" not in r.stdout + r.stderr
        assert db_info(d)["pid"] == pid, "mariadbd was restarted"
        assert oom_kills(pid) == kills
    finally:
        # a server the limit killed is restarted by jern: drop the rows then,
        # so that the module's backups stay small
        def dropped():
            try:
                with connect(u.geturl()) as c, c.cursor() as cur:
                    cur.execute("DROP DATABASE IF EXISTS sbtest")
                return True
            except pymysql.MySQLError:
                return False
        wait_for(dropped, timeout=60, step=0.5, what="the sbtest rows dropped")


def test_app_reads_and_writes_rows_through_database_url(env):
    d = env["d"]
    assert d.jern("create", "shop").returncode == 0
    r = d.jern("db", "attach", "main", "shop")
    assert r.returncode == 0, r.stderr
    r = d.jern("deploy", "shop", "--cmd", DBAPP, "--health", "/health")
    assert r.returncode == 0, r.stdout + r.stderr
    for i in range(5):
        p = d.get("shop", "/db")
        assert p.status_code == 200, p.text
    import requests
    for i in range(20):
        x = requests.post(d.url(f"/rows?v=r{i}"), headers={"Host": "shop.localhost"}, timeout=10)
        assert x.status_code == 201, x.text
    rows = d.get("shop", "/rows").json()
    assert rows["count"] == 20
    assert d.get("shop", "/db").json()["database"] == "shop"
    # The password: in `jern db url`, never in ps, releases, /metrics, the log.
    url = app_url(d, "shop")
    password = url.split(":")[2].split("@")[0]
    assert len(password) == 24
    for args in (["ps"], ["releases", "shop"], ["db", "ls"], ["db", "ls", "--json"],
                 ["ps", "--json"], ["releases", "shop", "--json"]):
        out = d.jern(*args)
        assert password not in out.stdout + out.stderr, args
    metrics = d.admin().get("/metrics").text
    assert password not in metrics
    assert 'jern_db_up{db="main",state="running"} 1' in metrics
    assert "jern_db_connections{db=\"main\"}" in metrics
    assert password not in d.proc.output()
    secret = d.state / "db" / "env" / "shop"
    assert secret.stat().st_mode & 0o777 == 0o600


def test_kill9_of_mariadbd_during_writes_loses_no_committed_row(env):
    d = env["d"]
    url = app_url(d, "shop")
    with connect(url) as c, c.cursor() as cur:
        cur.execute("CREATE TABLE crash_t (id INT PRIMARY KEY) ENGINE=InnoDB")
    committed, stop = [], threading.Event()

    def writer():
        i = 0
        c = None
        while not stop.is_set():
            i += 1
            try:
                if c is None:
                    c = connect(url)
                with c.cursor() as cur:
                    cur.execute("INSERT INTO crash_t VALUES (%s)", (i,))
                committed.append(i)  # autocommit: the server said committed
            except pymysql.MySQLError:
                c = None
                time.sleep(0.05)

    t = threading.Thread(target=writer)
    t.start()
    try:
        wait_for(lambda: len(committed) > 200, 20, what="200 committed rows")
        old = db_info(d)["pid"]
        os.kill(old, signal.SIGKILL)
        n_at_kill = len(committed)
        wait_for(lambda: db_info(d)["state"] == "running" and db_info(d)["pid"] != old, 60,
                 what="mariadbd restarted")
        wait_for(lambda: len(committed) > n_at_kill + 50, 30, what="writes after restart")
    finally:
        stop.set()
        t.join(30)
    assert db_info(d)["restarts"] >= 1
    with connect(url) as c, c.cursor() as cur:
        cur.execute("SELECT id FROM crash_t")
        present = {r[0] for r in cur.fetchall()}
    missing = [i for i in committed if i not in present]
    assert not missing, f"{len(missing)} committed rows lost: {missing[:10]}"
    assert len(mariadbd_pids(d.state)) == 1


def test_backup_drop_restore_and_schedule(env):
    d = env["d"]
    url = app_url(d, "shop")
    with connect(url) as c, c.cursor() as cur:
        cur.execute("CREATE TABLE keep_t (id INT PRIMARY KEY, v TEXT)")
        cur.executemany("INSERT INTO keep_t VALUES (%s, %s)", [(i, f"v{i}") for i in range(100)])
    r = d.jern("db", "backup", "main", "--json")
    assert r.returncode == 0, r.stderr
    backup = json.loads(r.stdout)["id"]
    with connect(url) as c, c.cursor() as cur:
        cur.execute("DROP TABLE keep_t")
    r = d.jern("db", "restore", "main", backup)
    assert r.returncode == 0, r.stderr
    with connect(url) as c, c.cursor() as cur:
        cur.execute("SELECT COUNT(*), SUM(id) FROM keep_t")
        assert cur.fetchone() == (100, sum(range(100)))
    # restore --to: a second server with the same rows; the first untouched
    r = d.jern("db", "restore", "main", backup, "--to", "main-copy")
    assert r.returncode == 0, r.stderr
    admin = json.loads(d.jern("db", "url", "main-copy", "--json").stdout)["admin_url"]
    with connect(admin) as c, c.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM shop.keep_t")
        assert cur.fetchone() == (100,)
    assert d.jern("db", "destroy", "main-copy").returncode == 0
    # schedule + retention: every second, keep 2 automatic ones
    r = d.jern("db", "backup", "main", "--schedule", "1s", "--keep", "2")
    assert r.returncode == 0, r.stderr

    def autos():
        v = d.admin().get("/v1/databases/main/backups").json()["backups"]
        return [b["id"] for b in v if b["automatic"]]
    seen = set()
    deadline = time.time() + 20
    while time.time() < deadline and len(seen) < 4:
        seen.update(autos())
        time.sleep(0.2)
    assert len(seen) >= 4, seen
    assert d.jern("db", "backup", "main", "--no-schedule").returncode == 0
    time.sleep(1.2)
    left = autos()
    assert len(left) == 2, left
    ids = [b["id"] for b in d.admin().get("/v1/databases/main/backups").json()["backups"]]
    assert backup in ids  # manual backups are never pruned


def timed(d, *args):
    t = time.monotonic()
    r = d.jern(*args)
    return r, time.monotonic() - t


def test_api_answers_during_a_create_and_a_backup(env):
    """Creates and backups run as jobs off the control thread: jern db ls and
    jern apps answer within a second meanwhile, and a second operation on the
    same database is refused naming the running one."""
    d = env["d"]
    create = subprocess.Popen([JERN, "db", "create", "side", "--memory", "256M"],
                              env={**os.environ, **d.env()},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: any(j["database"] == "side" and j["kind"] == "create"
                             for j in d.admin().get("/v1/databases").json()["jobs"]),
                 10, what="the create job")
        for cmd in (["db", "ls"], ["apps"], ["db", "ls"]):
            r, took = timed(d, *cmd)
            assert r.returncode == 0 and took < 2.0, (cmd, took, r.stderr)
        r = d.jern("db", "create", "side")
        assert r.returncode != 0 and "being created already (job" in r.stderr, r.stderr
        assert create.poll() is None, "the create ended before the checks: no proof"
    finally:
        out, err = create.communicate(timeout=120)
    assert create.returncode == 0, err
    assert db_info(d, "side")["state"] == "running"
    # A backup held up by a table lock: the dump waits, the API does not.
    url = app_url(d, "shop")
    with connect(url) as c, c.cursor() as cur:
        cur.execute("LOCK TABLES keep_t WRITE")
        backup = subprocess.Popen([JERN, "db", "backup", "main", "--json"],
                                  env={**os.environ, **d.env()},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: any(j["database"] == "main" and j["kind"] == "backup"
                                 for j in d.admin().get("/v1/databases").json()["jobs"]),
                     10, what="the backup job")
            time.sleep(0.5)
            for cmd in (["db", "ls"], ["apps"]):
                r, took = timed(d, *cmd)
                assert r.returncode == 0 and took < 2.0, (cmd, took, r.stderr)
            r = d.jern("db", "backup", "main")
            assert r.returncode != 0 and "a backup is running (job" in r.stderr, r.stderr
            r = d.jern("db", "destroy", "main", "--force")
            assert r.returncode != 0 and "a backup is running" in r.stderr, r.stderr
            assert backup.poll() is None, "the backup ended under the lock: no proof"
        finally:
            cur.execute("UNLOCK TABLES")
            out, err = backup.communicate(timeout=120)
    assert backup.returncode == 0, err
    assert json.loads(out)["automatic"] is False
    # A destroy is a job too: its final backup held up by a lock, the API answers.
    admin = json.loads(d.jern("db", "url", "side", "--json").stdout)["admin_url"]
    with connect(admin) as c, c.cursor() as cur:
        cur.execute("CREATE DATABASE held")
        cur.execute("CREATE TABLE held.t (id INT PRIMARY KEY)")
        cur.execute("LOCK TABLES held.t WRITE")
        destroy = subprocess.Popen([JERN, "db", "destroy", "side", "--json"],
                                   env={**os.environ, **d.env()},
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: any(j["database"] == "side" and j["kind"] == "destroy"
                                 for j in d.admin().get("/v1/databases").json()["jobs"]),
                     10, what="the destroy job")
            time.sleep(0.5)
            for cmd in (["db", "ls"], ["apps"]):
                r, took = timed(d, *cmd)
                assert r.returncode == 0 and took < 2.0, (cmd, took, r.stderr)
            assert db_info(d, "side")["state"] == "destroying"
            r = d.jern("db", "backup", "side")
            assert r.returncode != 0 and "a destroy is running (job" in r.stderr, r.stderr
            assert destroy.poll() is None, "the destroy ended under the lock: no proof"
        finally:
            cur.execute("UNLOCK TABLES")
            out, err = destroy.communicate(timeout=120)
    assert destroy.returncode == 0, err
    final = json.loads(out)["final_backup"]
    assert list((d.state / "db-archive").glob(f"side-*/{final}.sql"))
    assert not (d.state / "db" / "side").exists()
    assert d.admin().get("/v1/databases/side").status == 404


def test_a_port_taken_while_the_create_runs_moves_it_to_the_next(env):
    """Without --port jern picks a free port; a program that takes it while
    the create runs (mariadb-install-db takes seconds before mariadbd binds
    it; on a machine with two jern daemons their creates can pick the same
    one) does not fail the create: its server starts on the next free port,
    and the log says so."""
    import re
    d = env["d"]
    create = subprocess.Popen([JERN, "db", "create", "moved", "--memory", "256M"],
                              env={**os.environ, **d.env()},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    holder = socket.socket()
    try:
        m = wait_for(lambda: re.search(r"database moved: creating \(.*port (\d+)\)",
                                       d.proc.output()), 20, what="the port picked")
        port = int(m.group(1))
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", port))  # before mariadbd: install-db runs first
        holder.listen()
        out, err = create.communicate(timeout=180)
        assert create.returncode == 0, out + err
        assert db_info(d, "moved")["state"] == "running"
        assert db_info(d, "moved")["port"] > port
        assert f"port {port} was taken before its server bound it" in d.proc.output()
    finally:
        holder.close()
        if create.poll() is None:
            create.kill()
            create.communicate()
        d.jern("db", "destroy", "moved", "--force")


def test_attach_during_load_fails_no_request(env):
    d = env["d"]
    assert d.jern("create", "live").returncode == 0
    r = d.jern("deploy", "live", "--cmd", DBAPP, "--health", "/health")
    assert r.returncode == 0, r.stdout + r.stderr
    assert d.get("live", "/db").status_code == 503  # nothing attached yet
    load = subprocess.Popen(["wrk", "-t1", "-c4", "-d6s", "-H", "Host: live.localhost",
                             d.url("/health")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    time.sleep(1)
    r = d.jern("db", "attach", "main", "live")
    assert r.returncode == 0, r.stderr
    r = d.jern("restart", "live")
    assert r.returncode == 0, r.stdout + r.stderr
    out, _ = load.communicate(timeout=60)
    assert "requests in" in out, out
    assert "Non-2xx" not in out and "Socket errors" not in out, out
    assert d.get("live", "/db").json()["database"] == "live"


def test_kill9_of_the_daemon_adopts_mariadbd(env):
    d = env["d"]
    before = db_info(d)["pid"]
    assert mariadbd_pids(d.state) == [before]
    d.kill9()
    time.sleep(0.5)
    assert mariadbd_pids(d.state) == [before]  # the server outlives the daemon
    d.start()
    wait_for(lambda: db_info(d)["state"] == "running", 20, what="database running again")
    assert db_info(d)["pid"] == before
    assert mariadbd_pids(d.state) == [before]  # adopted, not doubled
    assert "adopted the running mariadbd" in d.proc.output()
    assert d.get("shop", "/rows").status_code == 200


def test_create_cut_by_kill9_of_the_daemon_leaves_nothing(env):
    """The daemon dies (JERN_FAULT) after a create started its mariadbd and
    before the database was recorded: the next start stops that server and
    removes its directory, and the name can be created again."""
    d = env["d"]
    main_pid = db_info(d)["pid"]
    d.kill9()
    d.env_extra = {"JERN_FAULT": "db:create-after-start"}
    try:
        d.start()
        r = d.jern("db", "create", "cut", "--memory", "256M")
    finally:
        d.env_extra = None
    assert r.returncode != 0
    wait_for(lambda: not d.proc.alive(), 10, what="the daemon killed at the fault point")
    assert "killing the daemon at db:create-after-start" in d.proc.output()
    assert (d.state / "db" / "cut" / "data").is_dir()
    assert len(mariadbd_pids(d.state)) == 2  # main's and the unrecorded one
    d.start()
    assert not (d.state / "db" / "cut").exists()
    assert mariadbd_pids(d.state) == [main_pid]
    assert "left by a create or destroy that the daemon did not finish" in d.proc.output()
    r = d.jern("db", "create", "cut", "--memory", "256M")
    assert r.returncode == 0, r.stderr
    assert d.jern("db", "destroy", "cut").returncode == 0


def test_destroy_refused_while_attached_then_keeps_a_final_backup(env):
    d = env["d"]
    r = d.jern("db", "destroy", "main")
    assert r.returncode != 0 and "attached to" in r.stderr, r.stderr
    assert d.jern("db", "detach", "main", "live").returncode == 0
    assert not (d.state / "db" / "env" / "live").exists()
    # an app destroyed while attached is detached: a new app of that name gets nothing
    assert d.jern("create", "gone").returncode == 0
    assert d.jern("db", "attach", "main", "gone").returncode == 0
    assert (d.state / "db" / "env" / "gone").exists()
    assert d.jern("destroy", "gone", "--yes").returncode == 0
    wait_for(lambda: "gone" not in db_info(d)["apps"], 10, what="detach of a destroyed app")
    assert not (d.state / "db" / "env" / "gone").exists()
    pid = db_info(d)["pid"]
    r = d.jern("db", "destroy", "main", "--force", "--json")
    assert r.returncode == 0, r.stderr
    final = json.loads(r.stdout)["final_backup"]
    assert list((d.state / "db-archive").glob(f"main-*/{final}.sql"))
    assert mariadbd_pids(d.state) == []
    assert not (d.state / "db" / "main").exists()
    assert not (d.state / "db" / "env" / "shop").exists()
    assert pid not in mariadbd_pids("/")
