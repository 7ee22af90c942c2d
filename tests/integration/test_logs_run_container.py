"""jern logs and jern run for an app on the container runtime: real Podman
through its Docker-compatible API, an image with the test app and a shell
(busybox), lines and one-offs read back through the CLI as a user reads them."""
import os
import re
import shutil
import subprocess
import threading
import time
import uuid

import pytest

from conftest import JERN, ROOT, TESTAPP_STATIC, have
from deploykit import DeployDaemon, wait_for

LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\S+) \| (.*)$")
RUN = uuid.uuid4().hex[:6]
IMAGE = f"localhost/jern-testapp-sh:{RUN}"
# the test app with a ticker beside it: one line every 0.2 s on stdout
TICKER = ("i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done & "
          "exec /jern-testapp")


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    if not have("podman") or not os.path.exists("/bin/busybox"):
        pytest.skip("podman and busybox-static are needed (scripts/install-deps.sh)")
    d = tmp_path_factory.mktemp("engine")
    subprocess.run([str(ROOT / "scripts/podman-service.sh"), "start", str(d)], check=True,
                   timeout=60)
    os.environ["CONTAINERS_CONF"] = str(d / "containers.conf")
    ctx = d / "ctx"
    ctx.mkdir()
    shutil.copy(TESTAPP_STATIC, ctx / "jern-testapp")
    shutil.copy("/bin/busybox", ctx / "busybox")
    (ctx / "Containerfile").write_text(
        "FROM scratch\n"
        "COPY busybox /bin/busybox\n"
        'RUN ["/bin/busybox", "--install", "-s", "/bin"]\n'
        "COPY jern-testapp /jern-testapp\n"
        "ENV PORT=8080 PATH=/bin\n"
        "EXPOSE 8080\n"
        f'CMD ["/bin/sh", "-c", "{TICKER}"]\n')
    subprocess.run(["podman", "build", "-q", "-t", IMAGE, str(ctx)], check=True,
                   capture_output=True, timeout=300)
    yield {"sock": str(d / "podman.sock")}
    subprocess.run(["podman", "rmi", "-f", IMAGE], capture_output=True, timeout=60)
    subprocess.run([str(ROOT / "scripts/podman-service.sh"), "stop", str(d)], timeout=60)


@pytest.fixture
def d(procs, tmp_path, engine):
    daemon = DeployDaemon(procs, tmp_path, docker_sock=engine["sock"]).start()
    daemon.apps = []
    yield daemon
    daemon.stop()
    for app in daemon.apps:
        subprocess.run(f"podman ps -aq --filter label=jern.app={app} | xargs -r podman rm -f",
                       shell=True, capture_output=True, timeout=120)


def ok(r):
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def new_app(d, prefix):
    app = f"{prefix}{uuid.uuid4().hex[:6]}"
    d.apps.append(app)
    return app


def containers(app, label="run"):
    r = subprocess.run(["podman", "ps", "-aq", "--filter", f"label=jern.app={app}",
                        "--filter", f"label=jern.instance={label}"],
                       capture_output=True, text=True, timeout=60)
    return r.stdout.split()


def test_container_logs_lines_tail_since_follow(d):
    app = new_app(d, "cl")
    ok(d.jern("deploy", app, "--image", IMAGE, "--port", "8080", "--health", "/health"))
    wait_for(lambda: d.jern("logs", app).stdout.count("tick") >= 8, 30, step=0.3,
             what="eight ticks")
    inst = d.ps(app)[0]["name"]
    lines = ok(d.jern("logs", app)).stdout.splitlines()
    assert lines
    for l in lines:
        m = LINE.match(l)
        assert m and m.group(2) == inst, l
    assert len(ok(d.jern("logs", app, "--tail", "3")).stdout.splitlines()) == 3
    # --since: a time after the last line leaves none of the earlier ones
    ticks = [int(LINE.match(l).group(3).split()[1]) for l in lines
             if LINE.match(l).group(3).startswith("tick")]
    time.sleep(1.2)
    cut = time.time()
    time.sleep(0.5)
    later = ok(d.jern("logs", app, "--since", f"@{int(cut)}")).stdout.splitlines()
    got = [int(LINE.match(l).group(3).split()[1]) for l in later
           if LINE.match(l).group(3).startswith("tick")]
    assert got and min(got) > max(ticks), (ticks, got)
    # -f: lines come as they are written, with the instance name
    p = subprocess.Popen([JERN, "logs", app, "-f", "--tail", "0"], stdout=subprocess.PIPE,
                         text=True, env={**os.environ, **d.env()})
    seen = []
    t = threading.Thread(target=lambda: [seen.append(l.rstrip("\n")) for l in p.stdout],
                         daemon=True)
    t.start()
    try:
        wait_for(lambda: len(seen) >= 5, 15, step=0.1, what="five followed lines")
        for l in seen[:5]:
            m = LINE.match(l)
            assert m and m.group(2) == inst and m.group(3).startswith("tick"), seen
        # --tail 0: nothing of what was written before
        assert int(LINE.match(seen[0]).group(3).split()[1]) > max(got)
        # a restart's new instance is followed too
        ok(d.jern("restart", app))
        wait_for(lambda: any(LINE.match(l).group(2) != inst for l in seen), 30, step=0.1,
                 what="a line of the new instance")
    finally:
        p.kill()
        p.wait()
    # the lines of the replaced instance are kept, with their times
    r = ok(d.jern("logs", app, "--since", "1h"))
    names = {LINE.match(l).group(2) for l in r.stdout.splitlines()}
    assert inst in names and len(names) == 2, names


def test_container_run_one_off(d):
    app = new_app(d, "cr")
    ok(d.jern("create", app))
    ok(d.jern("config", "set", app, "GREETING=hello", "API_TOKEN=s3cr3t-run"))
    ok(d.jern("deploy", app, "--image", IMAGE, "--port", "8080", "--health", "/health",
              "--env", "ONLY_V1=yes"))
    # its config (secrets opened) and --env of the release, per stream, exit status through
    r = d.jern("run", app, "--", "sh", "-c",
               'echo "$GREETING $API_TOKEN $ONLY_V1"; echo oops >&2; exit 7')
    assert r.returncode == 7, r.stdout + r.stderr
    assert r.stdout == "hello s3cr3t-run yes\n", r.stdout
    assert r.stderr == "oops\n", r.stderr
    # one word with shell syntax is a shell line
    r = ok(d.jern("run", app, "--", "echo $GREETING"))
    assert r.stdout == "hello\n"
    # output as the process wrote it: a last line without its end stays so
    r = ok(d.jern("run", app, "--", "printf", "a\\nb"))
    assert r.stdout == "a\nb", repr(r.stdout)
    r = d.jern("run", app, "--", "/no/such/program")
    # a command the image does not have: 127 as a shell (and `docker run`) says it,
    # with the engine's reason
    assert r.returncode == 127, r.stdout + r.stderr
    assert "/no/such/program" in r.stderr and "jern: run:" not in r.stderr, r.stderr
    # the serving instance is untouched and the one-off containers are gone
    assert len(d.ps(app)) == 1 and d.get(app, "/health").status_code == 200
    wait_for(lambda: not containers(app), 30, step=0.3, what="the one-off containers removed")
    assert "run" in ok(d.jern("history", app)).stdout


def test_container_run_stops_when_the_caller_goes(d):
    app = new_app(d, "cs")
    ok(d.jern("deploy", app, "--image", IMAGE, "--port", "8080", "--health", "/health"))
    p = subprocess.Popen([JERN, "run", app, "--", "sh", "-c", "echo started; exec sleep 60"],
                         stdout=subprocess.PIPE, text=True, env={**os.environ, **d.env()})
    try:
        assert p.stdout.readline() == "started\n"
        assert len(containers(app)) == 1
    finally:
        p.kill()
        p.wait()
    wait_for(lambda: not containers(app), 30, step=0.3, what="the one-off stopped and removed")


def test_container_run_reads_the_callers_stdin(d, tmp_path):
    """A container one-off takes jern's stdin as `docker run -i` does: the
    daemon attaches to the container's stdin through the Engine API before
    starting it, feeds it what the CLI sends, and the end of input ends it."""
    app = new_app(d, "ci")
    ok(d.jern("deploy", app, "--image", IMAGE, "--port", "8080", "--health", "/health"))
    env = {**os.environ, **d.env()}
    # a console fed by a pipe: each line a command, the end of input ends the shell
    r = subprocess.run([JERN, "run", app, "--", "sh"], input="echo hi\nexit 3\n",
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 3 and r.stdout == "hi\n", r.stdout + r.stderr
    # a file of a few hundred KB (several calls of the CLI, more than a socket
    # buffer holds) comes back byte for byte, and cat ends at its end
    f = tmp_path / "input.txt"
    f.write_bytes(b"".join(b"%06d %s\t|\n" % (i, b"0123456789abcdef!#%&()*+,-./:;=?@[]^_{}~"
                                                [: i % 41]) for i in range(12000)))
    assert f.stat().st_size > 300_000
    with open(f, "rb") as inp:
        r = subprocess.run([JERN, "run", app, "--", "cat"], stdin=inp, capture_output=True,
                           timeout=180, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f.read_bytes(), (len(r.stdout), f.stat().st_size, r.stderr[-300:])
    # no input at all: an empty stdin read to its end at once, not a hang
    t0 = time.monotonic()
    r = subprocess.run([JERN, "run", app, "--", "sh", "-c", "cat; echo done"],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
                       env=env)
    assert r.returncode == 0 and r.stdout == "done\n", r.stdout + r.stderr
    assert time.monotonic() - t0 < 30
    # interactive: an answer comes before the input ends
    p = subprocess.Popen([JERN, "run", app, "--", "sh"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, env=env)
    try:
        p.stdin.write("echo first\n")
        p.stdin.flush()
        import select
        assert select.select([p.stdout], [], [], 30)[0], "no answer within 30 s"
        assert p.stdout.readline() == "first\n"
        p.stdin.write("echo second; exit 5\n")
        p.stdin.close()
        assert p.stdout.read() == "second\n"
        assert p.wait(timeout=60) == 5
    finally:
        p.kill()
        p.wait()
    # a process that reads none of its input ends, and its input is dropped
    r = subprocess.run([JERN, "run", app, "--", "echo", "ignored it"], input="x" * 200_000,
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0 and r.stdout == "ignored it\n", r.stdout + r.stderr
    # input after its end is refused, naming why
    p = subprocess.Popen([JERN, "run", app, "--", "sh", "-c", "cat; echo ended; exec sleep 60"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert p.stdout.readline() == "ended\n"
        name = subprocess.run(["podman", "ps", "--filter", f"label=jern.app={app}", "--filter",
                               "label=jern.instance=run", "--format", "{{.Names}}"],
                              capture_output=True, text=True, timeout=60).stdout.split()
        assert len(name) == 1, name
        r = d.admin().post(f"/v1/apps/{app}/run/{name[0]}/stdin", {"data": "aGkK"})
        assert r.status == 409 and "no more input" in r.json()["error"], r
    finally:
        p.kill()
        p.wait()
    wait_for(lambda: not containers(app), 60, step=0.3, what="the one-off containers removed")
