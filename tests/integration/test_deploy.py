"""jern deploy end to end, on both runtime drivers: real processes (exec) and
real containers (Podman's Docker-compatible service, scripts/podman-service.sh,
with the image from scripts/build-testapp-image.sh). Every deploy goes
through the CLI and the daemon; traffic goes through jern's gateway."""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from conftest import ROOT, free_port, have
from deploykit import DeployDaemon, exec_cmd, private_registry, start_load, stop_load, wait_for

RUN = uuid.uuid4().hex[:6]


@pytest.fixture(scope="session")
def engine(tmp_path_factory):
    """Podman's API service plus the test image in two versions, and a
    private registry (htpasswd) the service knows as plain HTTP."""
    if not have("podman") or not have("docker-registry") or not have("htpasswd"):
        pytest.skip("podman, docker-registry and htpasswd are needed (scripts/install-deps.sh)")
    d = tmp_path_factory.mktemp("engine")
    reg_port = free_port()
    env = dict(os.environ, JERN_INSECURE_REGISTRIES=f"127.0.0.1:{reg_port}")
    subprocess.run([str(ROOT / "scripts/podman-service.sh"), "start", str(d)], check=True,
                   env=env, timeout=60)
    os.environ["CONTAINERS_CONF"] = str(d / "containers.conf")
    os.environ["CONTAINERS_REGISTRIES_CONF"] = str(d / "registries.conf")
    tags = {}
    for v in ("v1", "v2"):
        tag = f"{v}-{RUN}"
        subprocess.run([str(ROOT / "scripts/build-testapp-image.sh"), tag], check=True,
                       capture_output=True, timeout=120)
        tags[v] = tag
    yield {"dir": d, "sock": str(d / "podman.sock"), "tags": tags, "reg_port": reg_port}
    # (each test removes its own app's containers: the engine's storage is shared)
    for tag in tags.values():
        subprocess.run(["podman", "rmi", "-f", f"localhost/jern-testapp:{tag}"],
                       capture_output=True, timeout=60)
    subprocess.run([str(ROOT / "scripts/podman-service.sh"), "stop", str(d)], timeout=60)


class Kind:
    """How to deploy version v of the test app with one driver."""

    def __init__(self, name, engine=None):
        self.name = name
        self.engine = engine

    def args(self, v, *extra):
        if self.name == "exec":
            return ["--cmd", exec_cmd(), "--env", f"APP_VERSION={v}", *extra]
        tag = self.engine["tags"]["v2" if v == "v2" else "v1"]
        return ["--image", f"localhost/jern-testapp:{tag}", "--port", "8080", *extra]

    def body(self, v):
        if self.name == "exec":
            return f"hello from testapp {v}\n"
        return f"hello from testapp {self.engine['tags']['v2' if v == 'v2' else 'v1']}\n"


@pytest.fixture(params=["exec", "docker"])
def kind(request):
    if request.param == "docker":
        return Kind("docker", request.getfixturevalue("engine"))
    return Kind("exec")


@pytest.fixture
def daemon(procs, tmp_path, kind):
    d = DeployDaemon(procs, tmp_path, docker_sock=kind.engine["sock"] if kind.engine else None)
    d.start()
    yield d
    d.stop()
    d.cleanup_exec()
    if kind.engine:
        subprocess.run(f"podman ps -aq --filter label=jern.app={kind.app} | xargs -r podman rm -f",
                       shell=True, capture_output=True, timeout=120)


@pytest.fixture
def app(kind):
    kind.app = f"{kind.name[:2]}{uuid.uuid4().hex[:8]}"
    return kind.app


def served(d, app):
    """How many requests the gateway has answered for app's upstream (its
    /metrics), so a test can wait until load really flows."""
    r = d.admin().get("/metrics")
    total = 0
    for line in r.text.splitlines():
        if line.startswith("jern_upstream_server_requests_total{") and f'upstream="{app}"' in line:
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def deploy(d, kind, app, v, *extra, ok=True):
    r = d.jern("deploy", app, *kind.args(v, "--health", "/health", *extra))
    if ok:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def test_deploy_fail_rollback_scale_restart(daemon, kind, app):
    d = daemon
    r = deploy(d, kind, app, "v1", "--instances", "2", "--env", "API_TOKEN=hunter2-secret")
    out = r.stdout
    # each step is shown with its timing as it happens
    assert "release v1" in out and "is healthy: GET /health" in out and "switched" in out, out
    assert "API_TOKEN" in out and "hunter2" not in out
    assert d.get(app).text == kind.body("v1")
    ps = d.ps(app)
    assert len(ps) == 2 and all(p["state"] == "running" and p["health"] == "healthy" for p in ps)
    assert all(20000 <= p["port"] <= 29999 for p in ps)
    v1_names = sorted(p["name"] for p in ps)

    # a release whose health check fails leaves v1 serving, untouched
    r = deploy(d, kind, app, "v2", "--env", "FAIL_HEALTH=1", "--health-timeout", "2", ok=False)
    assert r.returncode == 1
    assert "did not become healthy" in r.stdout and "answered 500" in r.stdout, r.stdout
    assert "last output of" in r.stdout and "listening on" in r.stdout, r.stdout
    assert "the running release is untouched" in r.stdout
    assert d.get(app).text == kind.body("v1")
    assert sorted(p["name"] for p in d.ps(app)) == v1_names

    deploy(d, kind, app, "v2")
    assert d.get(app).text == kind.body("v2")
    ps = d.ps(app)
    assert len(ps) == 2 and all(p["release"] == 3 for p in ps)

    rel = d.jern("releases", app)
    assert rel.returncode == 0
    assert "API_TOKEN" in rel.stdout and "hunter2" not in rel.stdout
    js = d.admin().get(f"/v1/apps/{app}/releases").json()["releases"]
    assert [(x["version"], x["status"]) for x in js] == [(3, "active"), (2, "failed"), (1, "retired")]
    assert "hunter2" not in str(js)
    if kind.name == "docker":
        assert js[0]["image_id"].startswith("sha256:")

    # rollback: health-gated like a deploy; refuses a release that never served
    r = d.jern("rollback", app, "2")
    assert r.returncode == 1 and "never served" in r.stderr, r.stderr
    r = d.jern("rollback", app)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "rolling back to" in r.stdout and "release v1" in r.stdout
    assert d.get(app).text == kind.body("v1")
    assert all(p["release"] == 1 for p in d.ps(app))

    # scale up and down
    r = d.jern("scale", app, "3")
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(d.ps(app)) == 3
    r = d.jern("scale", app, "1")
    assert r.returncode == 0, r.stdout + r.stderr
    ps = d.ps(app)
    assert len(ps) == 1 and d.get(app).status_code == 200

    # rolling restart: a new instance replaces the old one
    r = d.jern("restart", app)
    assert r.returncode == 0, r.stdout + r.stderr
    ps2 = d.ps(app)
    assert len(ps2) == 1 and ps2[0]["name"] != ps[0]["name"]
    assert d.get(app).text == kind.body("v1")

    # logs are kept per release and outlive the instances
    r = d.jern("logs", app, "--release", "3")
    assert r.returncode == 0 and "listening on" in r.stdout, r.stdout + r.stderr
    r = d.jern("ps")
    assert app in r.stdout and "running" in r.stdout


def test_zero_failed_requests_over_five_deploys(daemon, kind, app, tmp_path):
    d = daemon
    deploy(d, kind, app, "v1", "--instances", "2")
    for post in (False, True):
        w = start_load(d, app, post=post, tmp=tmp_path)
        wait_for(lambda: served(d, app), 10, what="traffic through the gateway")
        for i in range(5):
            deploy(d, kind, app, "v2" if i % 2 == 0 else "v1")
        n, out = stop_load(w)
        print(out)
        assert n > 200, out
        assert "Non-2xx" not in out, out
        assert "Socket errors" not in out, out
    assert len(d.ps(app)) == 2
    # eleven releases: the serving one and the five newest others are kept
    rel = d.admin().get(f"/v1/apps/{app}/releases").json()["releases"]
    assert [x["version"] for x in rel] == [11, 10, 9, 8, 7, 6]
    assert rel[0]["status"] == "active"


def test_one_deploy_per_app_at_a_time(daemon, kind, app):
    d = daemon
    api = d.admin()
    slow = {"command": exec_cmd(), "workdir": str(ROOT), "health": "/health",
            "env": {"FAIL_HEALTH": "1"}, "health_timeout": 3}
    if kind.name == "docker":
        slow = {"image": f"localhost/jern-testapp:{kind.engine['tags']['v1']}",
                "health": "/health", "env": {"FAIL_HEALTH": "1"}, "health_timeout": 3}
    first = api.post(f"/v1/apps/{app}/deploy", slow)
    assert first.status == 202, first
    second = api.post(f"/v1/apps/{app}/deploy", slow)
    assert second.status == 409, second
    assert "already running" in second.json()["error"]
    job = first.json()["job"]
    done = wait_for(lambda: (lambda j: j if j["done"] else None)(
        api.get(f"/v1/jobs/{job}/0").json()), 30, what="first deploy's end")
    assert not done["ok"]
    # the deploy created the app: failed, it leaves no app (and no instance)
    assert d.admin().get(f"/v1/apps/{app}").status == 404


def kill_pid(kind, pid):
    os.kill(pid, signal.SIGKILL)


def test_unix_socket_instances_redeploy_under_load(daemon, kind, app, tmp_path):
    """deploy --socket unix (docs/DEPLOY.md): a process gets the socket from
    jern (--listen-fds), a container makes it at $JERN_SOCKET in a directory
    mounted from the state dir; either way the gateway and the health probe
    reach it without TCP, nothing is published on a port, and a redeploy
    under load fails no request and removes the old sockets."""
    d = daemon
    extra = ["--socket", "unix"] + (["--listen-fds"] if kind.name == "exec" else [])
    r = deploy(d, kind, app, "v1", "--instances", "2", *extra)
    assert "on unix:" in r.stdout, r.stdout
    ps = d.ps(app)
    old = [Path(p["socket"]) for p in ps]
    assert len(old) == 2 and all(p.is_socket() for p in old), ps
    assert all(str(p).startswith(str(d.state / "run")) for p in old), old
    assert d.get(app).text == kind.body("v1")
    if kind.name == "exec":
        assert d.get(app, "/env/PORT").status_code == 404  # no port: only the socket
    else:  # (the image sets PORT itself; jern publishes nothing)
        assert d.get(app, "/env/JERN_SOCKET").text == "/run/jern/http.sock"
        out = subprocess.run(["podman", "ps", "--filter", f"label=jern.app={app}", "--format",
                              "{{.Ports}}"], capture_output=True, text=True, timeout=60).stdout
        assert out.split() == [], out  # nothing published
    w = start_load(d, app, tmp=tmp_path)
    wait_for(lambda: served(d, app), 10, what="traffic through the gateway")
    deploy(d, kind, app, "v2", *extra)
    n, out = stop_load(w)
    assert n > 50 and "Non-2xx" not in out and "Socket errors" not in out, out
    assert d.get(app).text == kind.body("v2")
    new = [Path(p["socket"]) for p in d.ps(app)]
    assert all(p.is_socket() for p in new) and not any(p.exists() for p in old), (old, new)
    if kind.name == "docker":
        assert not any(p.parent.exists() for p in old)  # the mounted directories too


def test_killed_instance_is_restarted_without_client_errors(daemon, kind, app, tmp_path):
    d = daemon
    deploy(d, kind, app, "v1", "--instances", "2")
    victim = d.ps(app)[0]
    assert victim["pid"] > 0
    w = start_load(d, app, tmp=tmp_path)
    wait_for(lambda: served(d, app), 10, what="traffic through the gateway")
    kill_pid(kind, victim["pid"])

    def restarted():
        ps = d.ps(app)
        return ps if len(ps) == 2 and all(p["state"] == "running" for p in ps) and \
            any(p["restarts"] == 1 for p in ps) else None
    ps = wait_for(restarted, 20, what="restart of the killed instance")
    n, out = stop_load(w)
    print(out)
    assert n > 200 and "Non-2xx" not in out and "Socket errors" not in out, out
    assert victim["name"] not in [p["name"] for p in ps]
    assert d.get(app).text == kind.body("v1")


def test_crash_loop_is_marked_failed(procs, tmp_path):
    d = DeployDaemon(procs, tmp_path).start()
    try:
        # healthy at once, then dies after 0.3 s, again and again
        r = d.jern("deploy", "loop", "--cmd", f"timeout 0.3 {exec_cmd()}", "--health", "/health")
        assert r.returncode == 0, r.stdout + r.stderr
        ps = wait_for(lambda: (lambda p: p if p and p[0]["state"] == "failed" else None)(
            d.ps("loop")), 30, step=0.3, what="crash loop detection")
        assert ps[0]["restarts"] >= 3 and ps[0]["health"] == "unhealthy"
        assert "failed" in d.jern("ps", "loop").stdout
        # a deploy replaces the failed instance
        r = d.jern("deploy", "loop", "--cmd", exec_cmd(), "--health", "/health")
        assert r.returncode == 0, r.stdout + r.stderr
        assert [p["state"] for p in d.ps("loop")] == ["running"]
    finally:
        d.stop()
        d.cleanup_exec()


def test_hung_instance_fails_its_health_checks_and_is_replaced(procs, tmp_path):
    d = DeployDaemon(procs, tmp_path)
    d.env_extra = {"JERN_STOP_TIMEOUT": "1"}
    d.start()
    try:
        r = d.jern("deploy", "hang", "--cmd", exec_cmd(), "--health", "/health",
                   "--instances", "2")
        assert r.returncode == 0, r.stdout + r.stderr
        victim = d.ps("hang")[0]
        # the whole instance (sh and the app: one process group): alive, deaf to HTTP
        os.killpg(victim["pid"], signal.SIGSTOP)
        ps = wait_for(lambda: (lambda p: p if len(p) == 2 and all(
            x["state"] == "running" for x in p) and any(x["restarts"] == 1 for x in p)
            else None)(d.ps("hang")), 30, step=0.3, what="replacement of the hung instance")
        assert victim["name"] not in [p["name"] for p in ps]
        assert "failed 3 health checks in a row" in d.proc.output()
        assert d.get("hang").status_code == 200
    finally:
        d.stop()
        d.cleanup_exec()


def test_destroying_an_app_removes_its_instances(procs, tmp_path):
    d = DeployDaemon(procs, tmp_path).start()
    kind = Kind("exec")
    try:
        deploy(d, kind, "gone", "v1", "--instances", "2")
        pids = [p["pid"] for p in d.ps("gone")]
        assert count_instances(d, kind, "gone") == 2
        r = d.jern("destroy", "gone", "--yes")
        assert r.returncode == 0, r.stderr
        wait_for(lambda: count_instances(d, kind, "gone") == 0, 20, step=0.3,
                 what="removal of the destroyed app's instances")
        for pid in pids:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
        assert "no longer has it" in d.proc.output()
    finally:
        d.stop()
        d.cleanup_exec()


def count_instances(d, kind, app):
    if kind.name == "exec":
        return sum(1 for m in (d.state / "exec" / "instances").glob("*/meta")
                   if f"app={app}\n" in m.read_text())
    r = subprocess.run(["podman", "ps", "-q", "--filter", f"label=jern.app={app}"],
                       capture_output=True, text=True, timeout=60)
    return len(r.stdout.split())


def test_daemon_restart_adopts_instances_and_removes_orphans(daemon, kind, app):
    d = daemon
    deploy(d, kind, app, "v1", "--instances", "2")
    before = sorted((p["name"], p["pid"]) for p in d.ps(app))
    # traffic runs across the restart
    stop = threading.Event()
    codes = []

    def traffic():
        while not stop.is_set():
            try:
                codes.append(d.get(app, timeout=2).status_code)
            except Exception:
                codes.append(0)
            time.sleep(0.01)
    t = threading.Thread(target=traffic, daemon=True)
    t.start()
    # a deploy in progress when the daemon dies leaves an orphan behind
    slow = {"health": "/health", "env": {"FAIL_HEALTH": "1"}, "health_timeout": 30,
            "instances": 1}
    if kind.name == "exec":
        slow.update(command=exec_cmd(), workdir=str(ROOT))
    else:
        slow.update(image=f"localhost/jern-testapp:{kind.engine['tags']['v2']}")
    assert d.admin().post(f"/v1/apps/{app}/deploy", slow).status == 202
    try:
        wait_for(lambda: len(d.ps(app)) == 3 and count_instances(d, kind, app) == 3, 20,
                 what="the orphan-to-be")
    except TimeoutError:
        stop.set()
        raise AssertionError(f"ps={d.ps(app)} count={count_instances(d, kind, app)}")
    d.kill9()
    mark = len(codes)
    d.start()
    try:
        wait_for(lambda: codes[mark:].count(200) >= 20, 20, what="traffic after the restart")
    finally:
        stop.set()
    t.join()
    after = sorted((p["name"], p["pid"]) for p in d.ps(app))
    assert after == before  # adopted: same instances, same processes
    assert count_instances(d, kind, app) == 2  # the orphan is gone, nothing duplicated
    assert d.get(app).text == kind.body("v1")
    assert codes.count(200) > 10 and codes[-1] == 200
    rel = d.admin().get(f"/v1/apps/{app}/releases").json()["releases"]
    assert [(x["version"], x["status"]) for x in rel] == [(2, "failed"), (1, "active")]
    # supervision still works after adoption
    os.kill(after[0][1], signal.SIGKILL)
    wait_for(lambda: any(p["restarts"] == 1 and p["state"] == "running" for p in d.ps(app)),
             20, what="restart after adoption")


def test_private_registry_with_credentials(procs, tmp_path, engine):
    tag = engine["tags"]["v2"]
    ref = private_registry(procs, tmp_path, engine["reg_port"], f"localhost/jern-testapp:{tag}")
    reg_app = f"reg{RUN}"
    d = DeployDaemon(procs, tmp_path, docker_sock=engine["sock"]).start()
    try:
        r = d.jern("deploy", reg_app, "--image", ref, "--port", "8080", "--health", "/health")
        assert r.returncode == 1 and "unauthorized" in r.stdout.lower(), r.stdout + r.stderr
        r = d.jern("deploy", reg_app, "--image", ref, "--port", "8080", "--health", "/health",
                   "--registry-user", "jern", env={"JERN_REGISTRY_PASSWORD": "s3cret"})
        assert r.returncode == 0, r.stdout + r.stderr
        assert "s3cret" not in r.stdout
        assert d.get(reg_app).text == f"hello from testapp {tag}\n"
    finally:
        d.stop()
        subprocess.run(f"podman ps -aq --filter label=jern.app={reg_app} | xargs -r podman rm -f",
                       shell=True, capture_output=True, timeout=120)
        subprocess.run(["podman", "rmi", "-f", ref], capture_output=True, timeout=60)


def git(repo, *args):
    r = subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                        *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_deploy_from_source_builds_through_the_engine(procs, tmp_path, engine):
    """jern deploy --build: a git repository at a ref (tagged with its commit)
    and a plain directory (tagged with the time), built by Podman's POST /build
    FROM the local test image; the build's output is the deploy's progress,
    the release records the commit and the image ID; a failing build and a
    bad source are clear errors and leave the serving release alone."""
    if not have("git"):
        pytest.skip("git is needed (scripts/install-deps.sh)")
    base = f"localhost/jern-testapp:{engine['tags']['v1']}"
    repo = tmp_path / "src"
    repo.mkdir()
    (repo / "Containerfile").write_text(f"FROM {base}\nENV APP_VERSION=built1\n")
    git(repo, "init", "-q")
    git(repo, "add", "Containerfile")
    git(repo, "commit", "-q", "-m", "one")
    sha = git(repo, "rev-parse", "HEAD")
    # A later commit: --ref picks the one asked for, not the working tree.
    (repo / "Containerfile").write_text(f"FROM {base}\nENV APP_VERSION=later\n")
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "Dockerfile").write_text(f"FROM {base}\nENV APP_VERSION=built2\n")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "Containerfile").write_text(f"FROM {base}\nRUN /no/such/tool\n")
    app = f"bu{uuid.uuid4().hex[:8]}"
    d = DeployDaemon(procs, tmp_path, docker_sock=engine["sock"])
    d.start()
    try:
        r = d.jern("deploy", app, "--build", str(repo), "--ref", sha[:8], "--port", "8080",
                   "--health", "/health")
        assert r.returncode == 0, r.stdout + r.stderr
        assert f"building localhost/{app}:{sha[:12]} from its Containerfile" in r.stdout
        assert "build: STEP 1/2: FROM" in r.stdout, r.stdout
        assert d.get(app, "/").text == "hello from testapp built1\n"
        rel = json.loads(d.jern("releases", app, "--json").stdout)["releases"][0]
        assert rel["commit"] == sha and rel["image"] == f"localhost/{app}:{sha[:12]}"
        assert rel["image_id"].startswith("sha256:")
        listing = d.jern("releases", app).stdout
        assert sha[:12] in listing and rel["image_id"][:19] in listing, listing

        r = d.jern("deploy", app, "--build", str(plain), "--port", "8080", "--health", "/health")
        assert r.returncode == 0, r.stdout + r.stderr
        assert d.get(app, "/").text == "hello from testapp built2\n"
        rel2 = json.loads(d.jern("releases", app, "--json").stdout)["releases"][0]
        assert rel2["image"].startswith(f"localhost/{app}:2") and rel2["commit"] == ""

        r = d.jern("deploy", app, "--build", str(broken), "--port", "8080")
        assert r.returncode != 0
        assert "error: docker: build" in r.stdout + r.stderr, r.stdout + r.stderr
        for args, want in (([str(tmp_path)], "no Containerfile or Dockerfile"),
                           ([str(repo), "--ref", "no-such-branch"], "no such revision"),
                           ([str(tmp_path / "missing")], "No such file or directory")):
            r = d.jern("deploy", app, "--build", *args)
            assert r.returncode != 0 and want in r.stderr, (args, r.stderr)
        assert d.get(app, "/").text == "hello from testapp built2\n"
    finally:
        d.stop()
        subprocess.run(f"podman ps -aq --filter label=jern.app={app} | xargs -r podman rm -f",
                       shell=True, capture_output=True, timeout=120)
        subprocess.run(f"podman images -q 'localhost/{app}' | xargs -r podman rmi -f",
                       shell=True, capture_output=True, timeout=120)


def test_bad_input_gets_clear_errors(procs, tmp_path):
    d = DeployDaemon(procs, tmp_path).start()
    try:
        r = d.jern("deploy", "web")
        assert r.returncode == 2 and "usage" in r.stderr
        r = d.jern("deploy", "web", "--image", "x", "--cmd", "y")
        assert r.returncode == 2 and "exactly one of" in r.stderr
        r = d.jern("deploy", "web", "--cmd", "true", "--volume", "/a:/b")
        assert r.returncode == 1 and "--volume needs a container" in r.stderr
        r = d.jern("deploy", "web", "--cmd", "true", "--env", "1BAD=x")
        assert r.returncode == 1 and "1BAD" in r.stderr
        r = d.jern("deploy", "web", "--cmd", "true", "--health", "health")
        assert r.returncode == 1 and "must be a path starting with /" in r.stderr
        r = d.jern("deploy", "web", "--cmd", "true", "--memory", "lots")
        assert r.returncode == 1 and "memory" in r.stderr
        r = d.jern("deploy", "Bad_Name", "--cmd", "true")
        assert r.returncode == 1 and "Bad_Name" in r.stderr
        r = d.jern("rollback", "nope")
        assert r.returncode == 1 and "does not exist" in r.stderr
        assert d.admin().post("/v1/apps", {"name": "empty"}).status == 201
        r = d.jern("scale", "empty", "2")
        assert r.returncode == 1 and "no release serving yet" in r.stderr
        a = d.admin()
        assert a.post("/v1/apps/empty/deploy", {"command": "true", "bogus": 1}).status == 400
        assert a.get("/v1/jobs/999/0").status == 404
        # a command that exits at once fails its deploy with its exit status and output
        r = d.jern("deploy", "web", "--cmd", "echo boom >&2; exit 3", "--health", "/health")
        assert r.returncode == 1
        assert "exited with status 3" in r.stdout and "boom" in r.stdout, r.stdout
    finally:
        d.stop()
        d.cleanup_exec()


def test_make_demo_deploys_and_shows_the_next_commands(tmp_path):
    port = free_port()
    r = subprocess.run([str(ROOT / "scripts/demo.sh")], capture_output=True, text=True,
                       timeout=120, cwd=str(ROOT),
                       env=dict(os.environ, JERN_DEMO_ONESHOT="1", JERN_DEMO_PORT=str(port)))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("hello from testapp v1") == 4, r.stdout
    assert "jern deploy demo --cmd build/jern-testapp --env APP_VERSION=v2" in r.stdout
    assert "jern rollback demo" in r.stdout
    # the demo cleans up after itself: no instance outlives it
    assert not list((ROOT / "build/demo/state/exec/instances").glob("*/meta"))


def test_make_demo_ctrl_c_leaves_nothing_running(tmp_path):
    """Ctrl-C at the terminal signals the whole foreground group, make and the
    demo with it: the demo still scales its app to zero before jern stops, so
    no instance (they outlive their daemon by design) is left behind."""
    port = free_port()

    def as_at_a_terminal():
        # A shell at a terminal gets SIGINT at its default; a runner started
        # in the background (`cmd &` in a script) passes it on ignored, and
        # bash cannot trap a signal ignored on entry.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGQUIT, signal.SIG_DFL)

    p = subprocess.Popen([str(ROOT / "scripts/demo.sh")], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, cwd=str(ROOT),
                         start_new_session=True, env=dict(os.environ, JERN_DEMO_PORT=str(port)),
                         preexec_fn=as_at_a_terminal)
    try:
        out = ""
        deadline = time.monotonic() + 120
        while "Press Ctrl-C to stop." not in out and time.monotonic() < deadline:
            line = p.stdout.readline()
            if not line:
                break
            out += line
        assert "Press Ctrl-C to stop." in out, out
        pids = []
        for meta in (ROOT / "build/demo/state/exec/instances").glob("*/meta"):
            kv = dict(l.split("=", 1) for l in meta.read_text().splitlines() if "=" in l)
            pids += [int(kv["pid"]), int(kv["monitor"])]
        assert len(pids) == 4, out
        os.killpg(p.pid, signal.SIGINT)
        try:
            out += p.communicate(timeout=60)[0]
        except subprocess.TimeoutExpired as e:
            # what the daemon and the demo were doing when the cleanup stalled
            log = ROOT / "build/demo/jern.log"
            tail = log.read_text(errors="replace")[-4000:] if log.exists() else "(no log)"
            ps = subprocess.run(["ps", "-eo", "pid,ppid,pgid,stat,etime,args"],
                                capture_output=True, text=True).stdout
            raise AssertionError(f"the demo did not end 60 s after SIGINT\n{out}"
                                 f"{(e.stdout or '')}\n--- jern.log:\n{tail}\n--- ps:\n{ps}")
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    assert "scaling the app to zero and stopping jern" in out, out
    assert "did not" not in out, out  # each cleanup step ended by itself
    assert not list((ROOT / "build/demo/state/exec/instances").glob("*/meta")), out
    def running(pid):  # a zombie waiting for init to reap it has ended
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False
    deadline = time.monotonic() + 10
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if running(pid)]
        time.sleep(0.1)
    assert not alive, (alive, out)


# ---- resources: volumes, memory, cpus ----

def test_container_volume_memory_and_cpus_reach_the_engine(procs, tmp_path, engine):
    data, conf = tmp_path / "data", tmp_path / "conf"
    data.mkdir()
    conf.mkdir()
    (data / "greeting.txt").write_text("from the host\n")
    app = f"vo{uuid.uuid4().hex[:8]}"
    d = DeployDaemon(procs, tmp_path, docker_sock=engine["sock"]).start()
    try:
        r = d.jern("deploy", app, *Kind("docker", engine).args("v1"), "--health", "/health",
                   "--volume", f"{data}:/data", "--volume", f"{conf}:/conf:ro",
                   "--env", "FILE_ROOT=/data", "--memory", "256m", "--cpus", "0.5")
        assert r.returncode == 0, r.stdout + r.stderr
        # the container sees the host directory itself, not a copy of it
        assert d.get(app, "/file?path=greeting.txt").text == "from the host\n"
        (data / "greeting.txt").write_text("changed on the host\n")
        assert d.get(app, "/file?path=greeting.txt").text == "changed on the host\n"
        name = d.ps(app)[0]["name"]
        out = subprocess.run(["podman", "inspect", "--format", "json", name], capture_output=True,
                             text=True, timeout=60, check=True).stdout
        info = json.loads(out)[0]
        assert info["HostConfig"]["Memory"] == 256 * 1024 * 1024
        assert info["HostConfig"]["NanoCpus"] == 500_000_000
        mounts = {m["Destination"]: m for m in info["Mounts"]}
        assert mounts["/data"]["Source"] == str(data) and mounts["/data"]["RW"] is True
        assert mounts["/conf"]["Source"] == str(conf) and mounts["/conf"]["RW"] is False
        # a missing host directory is named before anything starts
        r = d.jern("deploy", app, *Kind("docker", engine).args("v2"), "--volume",
                   f"{tmp_path}/nope:/data")
        assert r.returncode == 1 and f"{tmp_path}/nope" in r.stderr and "create it" in r.stderr
        assert [x["version"] for x in d.admin().get(f"/v1/apps/{app}/releases").json()[
            "releases"]] == [1]
    finally:
        d.stop()
        subprocess.run(f"podman ps -aq --filter label=jern.app={app} | xargs -r podman rm -f",
                       shell=True, capture_output=True, timeout=120)


def test_exec_memory_limit_and_what_it_refuses(procs, tmp_path):
    d = DeployDaemon(procs, tmp_path).start()
    try:
        r = d.jern("deploy", "mem", "--cmd", exec_cmd(), "--health", "/health", "--memory", "512m")
        assert r.returncode == 0, r.stdout + r.stderr
        # the app's own process (behind the gateway) runs under RLIMIT_AS
        pid = int(d.get("mem", "/pid").text)
        limits = Path(f"/proc/{pid}/limits").read_text()
        line = next(x for x in limits.splitlines() if x.startswith("Max address space"))
        assert line.split()[3:5] == ["536870912", "536870912"], line
        # options the exec driver cannot honour are refused, naming the option and the fix
        r = d.jern("deploy", "mem", "--cmd", exec_cmd(), "--volume", f"{tmp_path}:/data")
        assert r.returncode == 1 and "--volume needs a container" in r.stderr, r.stderr
        assert "drop --volume" in r.stderr and "--image" in r.stderr
        r = d.jern("deploy", "mem", "--cmd", exec_cmd(), "--cpus", "1")
        assert r.returncode == 1 and "--cpus needs a container" in r.stderr, r.stderr
        assert "drop --cpus" in r.stderr and "--image" in r.stderr
        # bad values: clear errors, and nothing is created or started
        for args, rc, says in (
                (["--cmd", exec_cmd(), "--memory", "12q"], 1, "--memory '12q' is not a size"),
                (["--cmd", exec_cmd(), "--memory", "1k"], 1, "at least 4m"),
                (["--cmd", exec_cmd(), "--cpus", "-1"], 2, "--cpus '-1' is not a number"),
                (["--image", "localhost/x:1", "--volume", "nocolon"], 1,
                 'volume "nocolon": expected HOST:CONTAINER')):
            r = d.jern("deploy", "badvals", *args)
            assert r.returncode == rc and says in r.stderr, (args, r.stdout, r.stderr)
        assert d.admin().get("/v1/apps/badvals/releases").status == 404
        assert [x["version"] for x in d.admin().get("/v1/apps/mem/releases").json()[
            "releases"]] == [1]
        assert len(d.ps("mem")) == 1
    finally:
        d.stop()
        d.cleanup_exec()


# ---- ownership: each daemon judges only the instances it created ----

def daemon_id(d):
    with sqlite3.connect(str(d.state / "jern.db")) as db:
        return db.execute("SELECT value FROM settings WHERE key = 'daemon_id'").fetchone()[0]


def daemon_label(d, kind, app):
    """The jern.daemon label of each of app's instances."""
    if kind.name == "exec":
        out = []
        for m in (d.state / "exec" / "instances").glob("*/meta"):
            kv = dict(l.split("=", 1) for l in m.read_text().splitlines() if "=" in l)
            if kv.get("app") == app:
                out.append(kv.get("daemon", ""))
        return out
    r = subprocess.run(["podman", "ps", "-q", "--filter", f"label=jern.app={app}", "--format",
                        '{{index .Labels "jern.daemon"}}'], capture_output=True, text=True,
                       timeout=60, check=True)
    return r.stdout.split()


def test_app_destroyed_while_the_daemon_was_down(daemon, kind, app, tmp_path):
    d = daemon
    me = daemon_id(d)
    assert len(me) > 8
    # the store as it was before the app existed (the daemon's id is in it)
    before = tmp_path / "before.db"
    with sqlite3.connect(str(d.state / "jern.db")) as src, sqlite3.connect(str(before)) as dst:
        src.backup(dst)
    deploy(d, kind, app, "v1", "--instances", "2")
    pids = [p["pid"] for p in d.ps(app)]
    assert daemon_label(d, kind, app) == [me, me]
    d.stop()
    assert count_instances(d, kind, app) == 2  # instances outlive the daemon
    # restoring that store is what `jern destroy APP` would have left, had
    # it run while the daemon was down: the app is unknown, its instances run
    for suffix in ("", "-wal", "-shm"):
        (d.state / f"jern.db{suffix}").unlink(missing_ok=True)
    shutil.copy(before, d.state / "jern.db")
    d.start()
    assert daemon_id(d) == me  # the id persists
    # adoption runs before the daemon answers: they are gone by now
    assert count_instances(d, kind, app) == 0
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert f"its app '{app}' was destroyed while jern was down" in d.proc.output()


def test_daemons_sharing_an_engine_leave_each_other_alone(procs, tmp_path, engine):
    kind = Kind("docker", engine)
    app = f"sh{uuid.uuid4().hex[:8]}"  # the same app name in both daemons
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = DeployDaemon(procs, tmp_path / "a", docker_sock=engine["sock"], name="jern-a").start()
    b = DeployDaemon(procs, tmp_path / "b", docker_sock=engine["sock"], name="jern-b")
    try:
        deploy(a, kind, app, "v1")
        mine = a.ps(app)[0]["name"]
        b.start()
        ida, idb = daemon_id(a), daemon_id(b)
        assert ida != idb
        assert f"instance {mine} (app '{app}') was created by another jern daemon: {ida}" in \
            b.proc.output()
        deploy(b, kind, app, "v2")
        assert sorted(daemon_label(a, kind, app)) == sorted([ida, idb])
        # a restarted daemon adopts its own instance and leaves the other one alone
        a.stop()
        a.start()
        assert [p["name"] for p in a.ps(app)] == [mine]
        assert "was created by another jern daemon: " + idb in a.proc.output()
        assert count_instances(a, kind, app) == 2
        # b destroys its app: its sweep removes its own instance, not a's of the same name
        assert b.jern("destroy", app, "--yes").returncode == 0
        wait_for(lambda: daemon_label(a, kind, app) == [ida], 20, step=0.3,
                 what="removal of b's instance")
        assert a.get(app).text == kind.body("v1")
        assert [p["state"] for p in a.ps(app)] == ["running"]
    finally:
        a.stop()
        if b.proc:
            b.stop()
        subprocess.run(f"podman ps -aq --filter label=jern.app={app} | xargs -r podman rm -f",
                       shell=True, capture_output=True, timeout=120)


def test_destroy_during_a_deploy_is_refused(procs, tmp_path):
    """A deploy half-way through holds its app: destroying it meanwhile gets a
    409 that says why, and the deploy finishes untouched."""
    d = DeployDaemon(procs, tmp_path).start()
    try:
        # created first, so that the failed deploy does not remove it
        assert d.jern("create", "busy").returncode == 0
        # FAIL_HEALTH keeps the deploy probing until its deadline
        slow = threading.Thread(target=lambda: d.jern(
            "deploy", "busy", "--cmd", exec_cmd(), "--env", "FAIL_HEALTH=1",
            "--health", "/health", "--health-timeout", "3"))
        slow.start()
        wait_for(lambda: d.admin().get("/v1/apps/busy/releases").json().get("releases"), 10,
                 what="the deploy to start")
        r = d.jern("destroy", "busy", "--yes")
        assert r.returncode != 0
        assert "is already running (job" in r.stderr and "destroy it when" in r.stderr, r.stderr
        slow.join(60)
        # once the (failed) deploy is over, the app can be destroyed
        wait_for(lambda: d.jern("destroy", "busy", "--yes").returncode == 0, 20, step=0.5,
                 what="destroy after the deploy ended")
    finally:
        d.stop()
        d.cleanup_exec()


@pytest.mark.skipif(not have("mariadbd") or not have("mariadb-install-db"),
                    reason="mariadb-server is not installed")
def test_container_app_reaches_its_database_through_the_socket(engine, procs, tmp_path):
    """An app deployed as a container gets its attached database through the
    server's socket directory, mounted at /run/jern-db (its 127.0.0.1 is its
    own): the app in the container reads MariaDB's greeting there. And
    `jern db create --image` refuses an image this machine does not have, and
    one without mariadbd, leaving nothing."""
    app = f"db{uuid.uuid4().hex[:8]}"
    image = f"localhost/jern-testapp:{engine['tags']['v1']}"
    d = DeployDaemon(procs, tmp_path, docker_sock=engine["sock"]).start()
    try:
        r = d.jern("db", "create", "cdb", "--memory", "256M",
                   "--image", f"localhost/no-such-mariadb:{RUN}")
        assert r.returncode != 0 and "is not available" in r.stderr, r.stderr
        assert "podman load" in r.stderr and "leave out --image" in r.stderr, r.stderr
        r = d.jern("db", "create", "cdb", "--memory", "256M", "--image", image)
        assert r.returncode != 0 and "must hold mariadbd" in r.stderr, r.stderr
        assert not (d.state / "db" / "cdb").exists()
        left = subprocess.run(["podman", "ps", "-aq", "--filter", "label=jern.instance=cdb",
                               "--filter", "label=jern.app=jern.db"],
                              capture_output=True, text=True, timeout=60)
        assert left.stdout.strip() == "", left.stdout
        r = d.jern("db", "create", "cdb", "--memory", "256M", "--port", str(free_port()))
        assert r.returncode == 0, r.stderr
        assert d.jern("create", app).returncode == 0
        assert d.jern("db", "attach", "cdb", app).returncode == 0
        r = d.jern("deploy", app, "--image", image, "--port", "8080", "--health", "/health")
        assert r.returncode == 0, r.stdout + r.stderr
        assert d.get(app, "/env/MYSQL_HOST").text == "localhost"
        url = d.get(app, "/env/DATABASE_URL").text
        assert url.startswith(f"mysql://{app}:") and url.endswith(
            f"@localhost/{app}?socket=/run/jern-db/mariadbd.sock"), url
        g = d.get(app, "/mysql")
        assert g.status_code == 200 and "MariaDB" in g.text, g.text
    finally:
        d.jern("db", "destroy", "cdb", "--force")
        d.stop()
        subprocess.run(f"podman ps -aq --filter label=jern.app={app} | xargs -r podman rm -f",
                       shell=True, capture_output=True, timeout=120)
