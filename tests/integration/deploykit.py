"""Helpers for the deploy tests: a daemon that knows the container engine,
the CLI with a longer timeout, wrk runs, and cleanup of instances that by
design outlive the daemon (exec monitors, containers)."""
import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from conftest import JERN, ROOT, TESTAPP
from jerndaemon import Daemon


class DeployDaemon(Daemon):
    def __init__(self, procs, tmp_path, docker_sock=None, **kw):
        super().__init__(procs, tmp_path, **kw)
        self.docker_sock = docker_sock

    env_extra = None

    def env(self):
        e = super().env()
        if self.env_extra:
            e.update(self.env_extra)
        if self.docker_sock:
            e["DOCKER_HOST"] = f"unix://{self.docker_sock}"
        return e

    def jern(self, *args, timeout=120, env=None):
        e = dict(os.environ)
        e.update(self.env())
        if env:
            e.update(env)
        return subprocess.run([JERN, *args], capture_output=True, text=True, timeout=timeout,
                              env=e, cwd=str(ROOT))

    def ps(self, app):
        r = self.admin().get(f"/v1/apps/{app}/ps")
        assert r.status == 200, r
        return r.json()["instances"]

    def get(self, app, path="/", timeout=10):
        import requests
        return requests.get(self.url(path), headers={"Host": f"{app}.localhost"},
                            timeout=timeout)

    def cleanup_exec(self):
        """Kills every exec instance of this daemon's state dir."""
        for meta in (self.state / "exec" / "instances").glob("*/meta"):
            kv = dict(l.split("=", 1) for l in meta.read_text().splitlines() if "=" in l)
            for key in ("pid", "monitor"):
                try:
                    pid = int(kv.get(key, "0"))
                    if pid > 1:
                        if key == "pid":
                            os.killpg(pid, signal.SIGKILL)
                        os.kill(pid, signal.SIGKILL)
                except (ValueError, ProcessLookupError, PermissionError):
                    pass


@pytest.fixture(name="d")
def exec_daemon(procs, tmp_path):
    """A started daemon for exec instances (import it as d), cleaned up after."""
    dd = DeployDaemon(procs, tmp_path)
    dd.start()
    yield dd
    dd.stop()
    dd.cleanup_exec()


@pytest.fixture(scope="module")
def podman(tmp_path_factory):
    """Podman's Docker-compatible service and the test app image (import it);
    a registry on 127.0.0.1:reg_port is plain HTTP to it (start one there)."""
    from conftest import free_port, have
    if not have("podman"):
        pytest.skip("podman is needed (scripts/install-deps.sh)")
    dd = tmp_path_factory.mktemp("podman")
    reg_port = free_port()
    subprocess.run([str(ROOT / "scripts/podman-service.sh"), "start", str(dd)], check=True,
                   timeout=60, env=dict(os.environ, JERN_INSECURE_REGISTRIES=f"127.0.0.1:{reg_port}"))
    os.environ["CONTAINERS_CONF"] = str(dd / "containers.conf")
    os.environ["CONTAINERS_REGISTRIES_CONF"] = str(dd / "registries.conf")
    tag = f"sl-{uuid.uuid4().hex[:6]}"
    subprocess.run([str(ROOT / "scripts/build-testapp-image.sh"), tag], check=True,
                   capture_output=True, timeout=120)
    yield {"sock": str(dd / "podman.sock"), "image": f"localhost/jern-testapp:{tag}", "tag": tag,
           "reg_port": reg_port}
    subprocess.run(["podman", "rmi", "-f", f"localhost/jern-testapp:{tag}"],
                   capture_output=True, timeout=60)
    subprocess.run([str(ROOT / "scripts/podman-service.sh"), "stop", str(dd)], timeout=60)


def private_registry(procs, root, port, image):
    """A registry (docker-registry, htpasswd: jern / s3cret) on 127.0.0.1:port,
    holding image pushed as 127.0.0.1:port/jern-testapp:TAG and removed from
    the local store (a deploy must pull it). Returns that reference."""
    from conftest import wait_port
    reg = root / "reg"
    reg.mkdir()
    pw = subprocess.run(["htpasswd", "-Bbn", "jern", "s3cret"], capture_output=True, text=True,
                        check=True).stdout
    (reg / "htpasswd").write_text(pw)
    (reg / "config.yml").write_text(
        f"version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {reg}/data\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: jern-test\n"
        f"auth:\n  htpasswd:\n    realm: jern-test\n    path: {reg}/htpasswd\n")
    procs.start(["docker-registry", "serve", str(reg / "config.yml")], name="registry")
    wait_port(port)
    ref = f"127.0.0.1:{port}/jern-testapp:{image.rsplit(':', 1)[1]}"
    subprocess.run(["podman", "tag", image, ref], check=True, timeout=60)
    subprocess.run(["podman", "push", "-q", "--tls-verify=false", "--creds", "jern:s3cret", ref],
                   check=True, timeout=120, capture_output=True)
    subprocess.run(["podman", "rmi", ref], check=True, timeout=60, capture_output=True)
    return ref


def wait_for(pred, timeout, step=0.1, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise TimeoutError(f"{what} not reached within {timeout}s")


POST_LUA = """wrk.method = "POST"
wrk.body = string.rep("x", 512)
wrk.headers["Content-Type"] = "text/plain"
"""


def start_wrk(d, app, seconds, post=False, tmp=None, conns=8):
    args = ["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "-H", f"Host: {app}.localhost"]
    path = "/"
    if post:
        script = Path(tmp) / "post.lua"
        script.write_text(POST_LUA)
        args += ["-s", str(script)]
        path = "/echo"
    args.append(d.url(path))
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def start_load(d, app, post=False, tmp=None, conns=8):
    """wrk for as long as the test needs it: end it with stop_load() once
    what it measures is over (a fixed duration either outlasts a slow
    deploy or is cut short by one)."""
    return start_wrk(d, app, 600, post=post, tmp=tmp, conns=conns)


def stop_load(p):
    """Ends a start_load() wrk (SIGINT: it prints its totals) and returns
    (requests, output). Fails when wrk had already exited."""
    assert p.poll() is None, "wrk ended early:\n" + (p.communicate()[0] or "")
    p.send_signal(signal.SIGINT)
    return wrk_result(p)


def wrk_result(p, timeout=60):
    out, _ = p.communicate(timeout=timeout)
    m = re.search(r"(\d+) requests in", out)
    return (int(m.group(1)) if m else 0), out


def exec_cmd():
    """The --cmd of exec deploys: the test app, relative to the repository
    root (the CLI runs there), listening on $PORT."""
    return os.path.relpath(TESTAPP, ROOT)


@contextlib.contextmanager
def open_dir():
    """A scratch directory every user may enter, for files an exec app must
    see: when the tests run as root, apps run as jern-app, and pytest's
    tmp_path is private to root."""
    d = tempfile.mkdtemp(prefix="jern-open-")
    os.chmod(d, 0o755)
    try:
        yield Path(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)
