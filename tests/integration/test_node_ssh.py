"""jern node add / remove over a real OpenSSH server on loopback (Debian's
openssh-server) with a generated host key and user key. The node is
bootstrapped into a root directory of its own (--root, --skip-apt): this
machine's /etc, /usr and systemd are never touched."""
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import JERN, free_port, wait_port
from jerndaemon import Admin

SSHD = "/usr/sbin/sshd"


def keygen(path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


@pytest.fixture
def sshd(procs, tmp_path):
    if not os.path.exists(SSHD):
        pytest.fail("openssh-server is missing (scripts/install-deps.sh installs it)")
    d = tmp_path / "ssh"
    d.mkdir()
    os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation directory
    host = keygen(d / "host_key")
    user = keygen(d / "user_key")
    shutil.copy(d / "user_key.pub", d / "authorized_keys")
    port = free_port()
    (d / "sshd_config").write_text(f"""Port {port}
ListenAddress 127.0.0.1
HostKey {host}
AuthorizedKeysFile {d}/authorized_keys
PidFile {d}/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
""")
    procs.start([SSHD, "-D", "-e", "-f", str(d / "sshd_config")], name="sshd")
    wait_port(port)
    pub = (d / "host_key.pub").read_text().split()
    known = d / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {pub[0]} {pub[1]}\n")
    return {"port": port, "user_key": str(user), "known": str(known), "dir": d,
            "url": f"ssh://root@127.0.0.1:{port}"}


def node(*args, timeout=120):
    return subprocess.run([JERN, "node", *args], capture_output=True, text=True, timeout=timeout)


def rooted(sshd, root, *extra, known=None):
    return ["--root", str(root), "--skip-apt", "-i", sshd["user_key"],
            "--known-hosts", known or sshd["known"], *extra]


def history_sizes():
    out = {}
    for f in ("/root/.bash_history", "/root/.sh_history"):
        try:
            out[f] = os.stat(f).st_size
        except FileNotFoundError:
            out[f] = None
    return out


def test_node_add_is_idempotent_and_remove_drains(sshd, tmp_path):
    root = tmp_path / "node1"
    port = free_port()
    hist = history_sizes()
    r = node("add", sshd["url"], "--name", "n1",
             *rooted(sshd, root, "--listen", f"127.0.0.1:{port}"))
    out = r.stdout + r.stderr
    try:
        assert r.returncode == 0, out
        for want in ("os: Debian 12", "binary: copying", "written", "jern serve: starting",
                     "answers: ok", "node n1: ready"):
            assert want in r.stdout, out
        binary = root / "usr/local/bin/jern"
        assert binary.read_bytes() == Path(JERN).read_bytes()
        assert os.access(binary, os.X_OK)
        unit = (root / "etc/systemd/system/jern.service").read_text()
        assert f"ExecStart={binary} serve -c {root}/etc/jern/jern.conf\n" in unit, unit
        assert "--cluster" not in unit
        conf = (root / "etc/jern/jern.conf").read_text()
        assert f"listen 127.0.0.1:{port};" in conf and f"state_dir {root}/var/lib/jern;" in conf
        api = Admin(sock=str(root / "var/lib/jern/admin.sock"))
        assert api.get("/health").status == 200
        wait_port(port)
        pid = (root / "run/jern.pid").read_text().strip()

        # a second run compares and changes nothing
        r = node("add", sshd["url"], "--name", "n1",
                 *rooted(sshd, root, "--listen", f"127.0.0.1:{port}"))
        assert r.returncode == 0, r.stdout + r.stderr
        assert "node n1: nothing to change" in r.stdout, r.stdout
        assert "binary: ok" in r.stdout and "jern serve: running" in r.stdout, r.stdout
        assert (root / "run/jern.pid").read_text().strip() == pid

        # a changed setting rewrites the config and restarts it
        port2 = free_port()
        r = node("add", sshd["url"], "--name", "n1",
                 *rooted(sshd, root, "--listen", f"127.0.0.1:{port2}"))
        assert r.returncode == 0 and "jern serve: restarting" in r.stdout, r.stdout + r.stderr
        assert "binary: ok" in r.stdout and "unit" in r.stdout, r.stdout
        wait_port(port2)
        assert (root / "run/jern.pid").read_text().strip() != pid
        assert history_sizes() == hist, "a remote shell history was written"
    finally:
        r = node("remove", sshd["url"], "--name", "n1", "--root", str(root), "-i",
                 sshd["user_key"], "--known-hosts", sshd["known"])
    assert r.returncode == 0 and "stopped" in r.stdout, r.stdout + r.stderr
    assert not (root / "run/jern.pid").exists()
    assert not (root / "etc/systemd/system/jern.service").exists()
    assert not os.path.exists(root / "var/lib/jern/admin.sock") or \
        Admin(sock=str(root / "var/lib/jern/admin.sock")).get("/health").status != 200
    r = node("remove", sshd["url"], "--root", str(root), "-i", sshd["user_key"],
             "--known-hosts", sshd["known"])
    assert r.returncode == 0 and "nothing to change" in r.stdout, r.stdout + r.stderr


def test_host_keys_are_verified(sshd, tmp_path):
    root = tmp_path / "node2"
    # an unknown host key: refused, nothing copied
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    r = node("add", sshd["url"], *rooted(sshd, root, "--no-start", known=str(empty)))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "--accept-new-host-key" in r.stderr and "Host key verification failed" in r.stderr, \
        r.stderr
    assert not (root / "usr/local/bin/jern").exists()
    # a different key for that host (a man in the middle): refused even with accept-new
    other = keygen(tmp_path / "other_key")
    pub = Path(f"{other}.pub").read_text().split()
    wrong = tmp_path / "wrong_known_hosts"
    wrong.write_text(f"[127.0.0.1]:{sshd['port']} {pub[0]} {pub[1]}\n")
    r = node("add", sshd["url"], "--accept-new-host-key",
             *rooted(sshd, root, "--no-start", known=str(wrong)))
    assert r.returncode == 1 and "Host key verification failed" in r.stderr, r.stderr
    assert not (root / "usr/local/bin/jern").exists()
    # consent to learn a new one: accepted and written down; the cluster flags go in the unit
    r = node("add", sshd["url"], "--accept-new-host-key", "--name", "n2", "--cluster",
             "http://127.0.0.1:2380", "--advertise", "127.0.0.1:9443", "--label", "region=eu",
             "--label", "disk=ssd", *rooted(sshd, root, "--no-start", known=str(empty)))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "not started (--no-start)" in r.stdout, r.stdout
    learnt = subprocess.run(["ssh-keygen", "-F", f"[127.0.0.1]:{sshd['port']}", "-f", str(empty)],
                            capture_output=True, text=True)
    assert learnt.returncode == 0 and "ssh-ed25519" in learnt.stdout, empty.read_text()
    unit = (root / "etc/systemd/system/jern.service").read_text()
    assert (f"ExecStart={root}/usr/local/bin/jern serve -c {root}/etc/jern/jern.conf "
            "--cluster http://127.0.0.1:2380 --node n2 --advertise 127.0.0.1:9443 "
            "--label region=eu --label disk=ssd\n") in unit, unit
    r = node("add", sshd["url"], "--name", "n2", "--cluster", "http://127.0.0.1:2380",
             "--advertise", "127.0.0.1:9443", "--label", "region=eu", "--label", "disk=ssd",
             *rooted(sshd, root, "--no-start", known=str(empty)))
    assert r.returncode == 0 and "nothing to change" in r.stdout, r.stdout + r.stderr


def test_bad_arguments():
    for args, want in [(["add", "root@host"], "not an ssh:// URL"),
                       (["add", "ssh://host"], "needs a user"),
                       (["add", "ssh://root@host:99999"], "port must be a number"),
                       (["add", "ssh://root@-oProxyCommand=x"], "is not a host name"),
                       (["add", "ssh://root@h", "--label", "nolabel"], "expected key=value"),
                       (["add", "ssh://root@h", "--root", "relative"], "--root")]:
        r = node(*args, timeout=10)
        assert r.returncode == 2 and want in r.stderr, (args, r.stderr)
