"""jern as a service: the installed layout (config, state and admin socket in
the system's places, under a stand-in root $JERN_SYSROOT so the machine is not
touched), the CLI finding its daemon from any directory, a second daemon
refused on a port the first one holds, and a restart that never answers 404
for an app it knows."""
import grp
import os
import shutil
import stat
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from conftest import JERN, free_port
from jerndaemon import Daemon


@pytest.fixture(autouse=True)
def no_explicit_endpoint(monkeypatch):
    for k in ("JERN_STATE", "JERN_ADMIN", "JERN_SYSROOT"):
        monkeypatch.delenv(k, raising=False)


def cli(*args, cwd, sysroot, env=None):
    e = dict(os.environ, JERN_SYSROOT=str(sysroot))
    e.update(env or {})
    return subprocess.run([JERN, *args], capture_output=True, text=True, timeout=20, cwd=cwd,
                          env=e)


def wait_sock(path, proc, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path):
            return
        assert proc.alive(), proc.output()
        time.sleep(0.05)
    raise TimeoutError(proc.output())


def test_installed_layout_and_discovery(procs, tmp_path):
    root = tmp_path / "root"
    (root / "etc/jern").mkdir(parents=True)
    port = free_port()
    (root / "etc/jern/jern.conf").write_text(f"jern {{ listen 127.0.0.1:{port}; }}\n")
    here = tmp_path / "somewhere"
    here.mkdir()
    system = procs.start([JERN, "serve"], name="system", cwd=str(here),
                         env={"JERN_SYSROOT": str(root)})
    sock = root / "run/jern/admin.sock"
    wait_sock(sock, system)
    # The system's places, nothing in the directory it was started from.
    assert (root / "var/lib/jern/jern.db").exists()
    assert list(here.iterdir()) == []
    mode = stat.S_IMODE(os.stat(sock).st_mode)
    assert mode in (0o600, 0o660)  # 0660 for group jern when the group exists

    # From any directory, without JERN_ADMIN.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = cli("status", cwd=elsewhere, sysroot=root)
    assert r.returncode == 0, r.stderr
    assert f"cli uses     {sock} (the system daemon)" in r.stdout
    assert f"config       {root}/etc/jern/jern.conf" in r.stdout
    assert cli("create", "shop", cwd=elsewhere, sysroot=root).returncode == 0

    # A local daemon (make demo, tests): ./jern-state where it was started.
    local = tmp_path / "checkout"
    local.mkdir()
    empty = tmp_path / "empty-root"
    empty.mkdir()
    (tmp_path / "local.conf").write_text(f"jern {{ listen 127.0.0.1:{free_port()}; }}\n")
    lp = procs.start([JERN, "serve", "-c", str(tmp_path / "local.conf")], name="local",
                     cwd=str(local), env={"JERN_SYSROOT": str(empty)})
    wait_sock(local / "jern-state/admin.sock", lp)
    # No system daemon: the local default.
    r = cli("status", cwd=local, sysroot=empty)
    assert r.returncode == 0, r.stderr
    assert "cli uses     jern-state/admin.sock (the local default: no system daemon)" in r.stdout
    # A system daemon runs: it wins over ./jern-state ...
    r = cli("apps", cwd=local, sysroot=root)
    assert r.returncode == 0 and r.stdout.splitlines()[1].split()[0] == "shop", r.stdout
    # ... and JERN_ADMIN and --admin win over it.
    local_sock = str(local / "jern-state/admin.sock")
    r = cli("status", cwd=elsewhere, sysroot=root, env={"JERN_ADMIN": local_sock})
    assert f"cli uses     {local_sock} ($JERN_ADMIN)" in r.stdout, r.stdout
    assert "state        jern-state" in r.stdout
    r = cli("apps", "--admin", local_sock, cwd=elsewhere, sysroot=root)
    assert r.returncode == 0 and "no apps yet" in r.stdout, r.stdout
    r = cli("status", cwd=elsewhere, sysroot=root, env={"JERN_STATE": str(local / "jern-state")})
    assert "($JERN_STATE)" in r.stdout, r.stdout


def test_second_daemon_on_the_same_port_is_refused(procs, tmp_path):
    first = Daemon(procs, tmp_path / "a", name="first")
    (tmp_path / "a").mkdir()
    first.start()
    (tmp_path / "b").mkdir()
    second = Daemon(procs, tmp_path / "b", name="second", listen_port=first.port)
    second.start(wait=False)
    assert second.proc.wait(timeout=15) == 1
    out = second.proc.output()
    assert (f"address 127.0.0.1:{first.port} already in use by another jern "
            f"(pid {first.proc.pid})") in out, out
    # The gateway alone is refused the same way.
    conf = tmp_path / "gw.conf"
    conf.write_text("events {} http { server { listen 127.0.0.1:%d; return 200; } }\n" % first.port)
    r = subprocess.run([JERN, "gateway", "-c", str(conf)], capture_output=True, text=True,
                       timeout=15)
    assert r.returncode == 1
    assert f"already in use by another jern (pid {first.proc.pid})" in r.stderr, r.stderr
    # The first one still has every connection.
    assert first.cli("status").returncode == 0


def test_restart_never_answers_404_for_a_known_app(procs, tmp_path):
    """While a restarted daemon adopts its instances, requests for the app it
    knows are held or refused at the door, never answered 404."""
    import http.client
    import threading
    from deploykit import DeployDaemon, exec_cmd

    d = DeployDaemon(procs, tmp_path).start()
    try:
        r = d.jern("deploy", "keep", "--cmd", exec_cmd(), "--instances", "2", "--health", "/health")
        assert r.returncode == 0, r.stdout + r.stderr
        stop = threading.Event()
        codes = []

        def load():
            while not stop.is_set():
                try:
                    c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=5)
                    c.request("GET", "/", headers={"Host": "keep.localhost"})
                    codes.append(c.getresponse().status)
                    c.close()
                except OSError:
                    codes.append(0)  # no listener between the two daemons
        threads = [threading.Thread(target=load, daemon=True) for _ in range(3)]
        for t in threads:
            t.start()
        deadline = time.time() + 20  # the loop is bounded in time
        for _ in range(3):
            time.sleep(0.3)
            d.stop()
            d.start()
            assert time.time() < deadline
        time.sleep(0.3)
        stop.set()
        for t in threads:
            t.join(10)
        assert codes.count(404) == 0, {c: codes.count(c) for c in set(codes)}
        assert codes.count(200) > 20 and codes[-1] == 200
    finally:
        d.stop()
        d.cleanup_exec()


def run_as(user, *args, sysroot, cwd):
    """The CLI as another user (runuser: that user's groups from /etc/group)."""
    return subprocess.run(["runuser", "-u", user, "--", "env", f"JERN_SYSROOT={sysroot}", JERN,
                           *args], capture_output=True, text=True, timeout=30, cwd=cwd)


@pytest.fixture
def group_and_users():
    """The group jern (made for the test when the machine has none, removed
    after) and two throwaway users: one in the group, one not."""
    if os.geteuid() != 0 or not all(shutil.which(c) for c in
                                    ("runuser", "useradd", "userdel", "groupadd", "groupdel")):
        pytest.skip("needs root and runuser, useradd, groupadd (passwd, util-linux)")
    made_group = subprocess.run(["getent", "group", "jern"], capture_output=True).returncode != 0
    if made_group:
        r = subprocess.run(["groupadd", "--system", "jern"], capture_output=True, text=True)
        # (another run may have made it meanwhile: then it is that run's to remove)
        made_group = r.returncode == 0
    tag = uuid.uuid4().hex[:6]
    member, other = f"jnmem{tag}", f"jnoth{tag}"
    made = []
    try:
        for user, extra in ((member, ["-G", "jern"]), (other, [])):
            subprocess.run(["useradd", "-M", "-N", "-s", "/usr/sbin/nologin", *extra, user],
                           check=True, capture_output=True, timeout=30)
            made.append(user)
        yield member, other
    finally:
        for user in made:
            subprocess.run(["userdel", user], capture_output=True, timeout=30)
        if made_group:
            subprocess.run(["groupdel", "jern"], capture_output=True, timeout=30)


def test_group_jern_may_use_the_admin_socket(procs, group_and_users):
    member, other = group_and_users
    # a stand-in root every user may enter (pytest's tmp_path is root's alone)
    root = Path(tempfile.mkdtemp(prefix="jern-sysroot-", dir="/tmp"))
    system = None
    try:
        os.chmod(root, 0o755)
        (root / "run").mkdir(mode=0o755)  # as on every system: jern makes /run/jern only
        (root / "etc/jern").mkdir(parents=True)
        (root / "etc/jern/jern.conf").write_text(f"jern {{ listen 127.0.0.1:{free_port()}; }}\n")
        system = procs.start([JERN, "serve"], name="system", cwd=str(root),
                             env={"JERN_SYSROOT": str(root)})
        sock = root / "run/jern/admin.sock"
        wait_sock(sock, system)
        gid = grp.getgrnam("jern").gr_gid
        st = os.stat(sock)
        assert stat.S_IMODE(st.st_mode) == 0o660 and st.st_gid == gid
        st = os.stat(sock.parent)
        assert stat.S_IMODE(st.st_mode) == 0o750 and st.st_gid == gid
        # a member of the group: the CLI finds the system daemon and may use it
        r = run_as(member, "status", sysroot=root, cwd="/")
        assert r.returncode == 0, r.stdout + r.stderr
        assert f"cli uses     {sock} (the system daemon)" in r.stdout
        r = run_as(member, "create", "grp", sysroot=root, cwd="/")
        assert r.returncode == 0, r.stdout + r.stderr
        # anyone else: told it is a matter of permission, and the fix; not
        # "cannot reach" a local ./jern-state
        for args in (("status",), ("apps",)):
            r = run_as(other, *args, sysroot=root, cwd="/")
            assert r.returncode == 1, r.stdout + r.stderr
            assert f"permission denied on the admin socket {sock}" in r.stderr, r.stderr
            assert "group jern" in r.stderr and "usermod -aG jern" in r.stderr, r.stderr
            assert "cannot reach" not in r.stderr and "jern-state" not in r.stderr, r.stderr
    finally:
        if system:
            system.stop()
        shutil.rmtree(root, ignore_errors=True)
