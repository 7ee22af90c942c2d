"""Shared fixtures for jern's black-box tests: the real binary, real sockets,
real backends, all on loopback. Each test gets its own temporary directory
and free ports; every process it starts is stopped when it ends."""
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JERN = os.environ.get("JERN_BIN", str(ROOT / "build" / "jern"))
TESTAPP = os.environ.get("JERN_TESTAPP", str(ROOT / "build" / "jern-testapp"))
TESTAPP_STATIC = os.environ.get("JERN_TESTAPP_STATIC", str(ROOT / "build" / "jern-testapp-static"))

# Tests talk to loopback only: no daemon started by a test may ask Let's
# Encrypt (the default acme_directory) for certificates for its app domains.
# The certificate tests name their own CA (Pebble) in the jern block.
os.environ["JERN_ACME_DIRECTORY"] = "off"


_PORTS = random.Random()  # its own: a test's random.seed() must not repeat ports
_PORT_DIR = Path(tempfile.gettempdir()) / "jern-test-ports"


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _reserve(port):
    """Claims port for this process across every test process on the machine
    (the suites run side by side): a file named after it holds the owner's
    pid. A claim is never given back while its owner lives, so no two tests
    are handed one port; a dead owner's claims are taken over."""
    _PORT_DIR.mkdir(exist_ok=True)
    f = _PORT_DIR / str(port)
    try:
        fd = os.open(f, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        try:
            owner = int(f.read_text() or "0")
        except (OSError, ValueError):
            return False
        if owner == os.getpid() or (owner > 0 and _alive(owner)):
            return False
        f.write_text(str(os.getpid()))
        return True
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    return True


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now, picked
    from 14000-19999: below the kernel's ephemeral range (a port the kernel
    hands out for a bind to 0 is the next outgoing connection's source port
    once released, and suites run side by side make thousands of those: an
    etcd that found its port taken that way made a CI run red), above the
    databases' automatic ports (13306-13999) and below the instances'
    (20000-29999). Claimed for this process (_reserve), so a test process
    beside it is never handed the same port."""
    for _ in range(2000):
        port = _PORTS.randrange(14000, 20000)
        if not _reserve(port):
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def syscall_counts(pid, out, load):
    """Runs load() while `strace -c -f` counts the system calls of process
    pid (all its threads) into file out: (counts by name, load's result)."""
    st = subprocess.Popen(["strace", "-c", "-f", "-o", str(out), "-p", str(pid)],
                          stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    try:
        result = load()
    finally:
        st.send_signal(signal.SIGINT)
        st.wait(10)
    calls = {}
    for line in Path(out).read_text().splitlines():
        f = line.split()
        if len(f) >= 5 and f[3].isdigit():
            calls[f[-1]] = int(f[3])
    return calls, result


def wait_port(port, timeout=10.0, host="127.0.0.1"):
    """Waits until something accepts on host:port; raises after timeout."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


def read_until_close(s, timeout, stop_after_head=False):
    """Reads from socket s until the peer closes or timeout passes, or, with
    stop_after_head, as soon as a whole response head has arrived."""
    out = b""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        out += chunk
        if stop_after_head and b"\r\n\r\n" in out:
            break
    return out


def raw(port, data, timeout=5.0, until_close=True):
    """Sends bytes on a fresh connection to 127.0.0.1:port and returns what
    comes back: everything until the server closes (or timeout), or only up to
    the end of the response head when until_close is False."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        return read_until_close(s, timeout, stop_after_head=not until_close)


class Proc:
    """A child process with its output captured to a file."""

    def __init__(self, args, log, env=None, cwd=None):
        self.args = [str(a) for a in args]
        self.log_path = Path(log)
        self.logf = open(log, "wb")
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        self.p = subprocess.Popen(self.args, stdout=self.logf, stderr=subprocess.STDOUT,
                                  env=full_env, cwd=cwd, start_new_session=True)

    @property
    def pid(self):
        return self.p.pid

    def output(self):
        self.logf.flush()
        return self.log_path.read_text(errors="replace")

    def send(self, sig):
        self.p.send_signal(sig)

    def alive(self):
        return self.p.poll() is None

    def wait(self, timeout=10):
        return self.p.wait(timeout=timeout)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.p.poll() is None:
            try:
                self.p.send_signal(sig)
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.logf.close()
        return self.p.returncode


@pytest.fixture
def procs(tmp_path):
    """Starts processes for a test and stops them all afterwards:
    procs.start(args, name) -> Proc."""

    class Procs:
        def __init__(self):
            self.all = []

        def start(self, args, name="proc", env=None, cwd=None):
            p = Proc(args, tmp_path / f"{name}.log", env=env, cwd=cwd)
            self.all.append(p)
            return p

    ps = Procs()
    yield ps
    for p in reversed(ps.all):
        p.stop()


@pytest.fixture
def testapp(procs):
    """Starts a jern-testapp backend: testapp(name) -> port."""

    def start(name="app", port=None, extra_env=None):
        port = port or free_port()
        env = {"APP_NAME": name, "PORT": str(port)}
        if extra_env:
            env.update(extra_env)
        procs.start([TESTAPP, port], name=f"testapp-{name}-{port}", env=env)
        wait_port(port)
        return port

    return start


def have(cmd):
    return shutil.which(cmd) is not None
