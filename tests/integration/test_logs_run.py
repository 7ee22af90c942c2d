"""jern logs and jern run, end to end on the exec driver: the real binary,
real processes; lines read back through the CLI as a user reads them."""
import json
import os
import re
import statistics
import subprocess
import threading
import time

import pytest

from conftest import JERN, ROOT
from deploykit import DeployDaemon, exec_cmd, wait_for

LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\S+) \| (.*)$")
TICKER = ("(i=0; while true; do i=$((i+1)); echo tick $i $(date +%s%N); sleep 0.2; done) & "
          "exec {app}")


@pytest.fixture
def d(procs, tmp_path):
    daemon = DeployDaemon(procs, tmp_path).start()
    yield daemon
    t0 = time.time()
    daemon.stop()
    # a follow still open must not hold the daemon up
    assert time.time() - t0 < 10
    daemon.cleanup_exec()


def ok(r):
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def deploy_ticker(d, app, *extra):
    ok(d.jern("deploy", app, "--cmd", TICKER.format(app=exec_cmd()), "--health", "/health",
              *extra))


def test_logs_lines_tail_since_until(d):
    deploy_ticker(d, "tk")
    wait_for(lambda: d.jern("logs", "tk").stdout.count("tick") >= 8, 15, step=0.3,
             what="eight ticks")
    r = ok(d.jern("logs", "tk"))
    lines = r.stdout.splitlines()
    inst = d.ps("tk")[0]["name"]
    for l in lines:
        m = LINE.match(l)
        assert m and m.group(2) == inst, l
    # --tail
    r = ok(d.jern("logs", "tk", "--tail", "3"))
    assert len(r.stdout.splitlines()) == 3
    # --since / --until split the lines at a time between two of them
    lines = json_lines(d, "tk")
    ats = [l["at"] for l in lines if l["text"].startswith("tick")]
    cut = ats[len(ats) // 2]
    after = json_lines(d, "tk", "--since", f"@{cut // 1000}")
    before = json_lines(d, "tk", "--until", iso(cut))
    assert after and all(l["at"] >= cut // 1000 * 1000 for l in after)
    assert before and all(l["at"] <= cut for l in before)
    assert any(l["at"] == cut for l in before)
    r = ok(d.jern("logs", "tk", "--since", "1h"))
    assert r.stdout.count("tick") >= len(ats)
    r = d.jern("logs", "tk", "--since", "yesterday")
    assert r.returncode == 2 and "is not a time" in r.stderr
    r = d.jern("logs", "tk", "-f", "--until", "1m")
    assert r.returncode == 1 and "do not go together" in r.stderr
    # the lines of a replaced instance are kept, with their times
    old = inst
    ok(d.jern("restart", "tk"))
    r = ok(d.jern("logs", "tk", "--since", "1h"))
    names = {LINE.match(l).group(2) for l in r.stdout.splitlines()}
    assert old in names and len(names) == 2, names


def json_lines(d, app, *args):
    r = ok(d.jern("logs", app, "--json", *(args or ("--since", "1h"))))
    return [json.loads(l) for l in r.stdout.splitlines()]


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def test_logs_follow_is_pushed_and_picks_up_new_instances(d):
    deploy_ticker(d, "fl")
    env = dict(d.env())
    import os
    p = subprocess.Popen([JERN, "logs", "fl", "-f", "--tail", "0"], stdout=subprocess.PIPE,
                         text=True, env={**os.environ, **env}, cwd=str(ROOT))
    got = []

    def reader():
        for l in p.stdout:
            got.append((time.time(), l.rstrip("\n")))

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        wait_for(lambda: len(got) >= 10, 15, step=0.1, what="ten followed lines")
        # each tick carries the time it was written: it arrives within a
        # fraction of a second (the CLI used to poll once a second)
        lags = []
        for when, l in got[:10]:
            m = LINE.match(l)
            assert m and m.group(3).startswith("tick"), got
            ns = int(m.group(3).split()[2])
            lags.append(when - ns / 1e9)
        # (about 0.02 s here; a poll once a second gives about 0.5 s)
        assert statistics.median(lags) < 0.25, lags
        # a restart's new instance is followed too
        first = LINE.match(got[0][1]).group(2)
        ok(d.jern("restart", "fl"))
        wait_for(lambda: any(LINE.match(l).group(2) != first for _, l in got), 15, step=0.1,
                 what="a line of the new instance")
    finally:
        p.kill()
        p.wait()


def test_run_one_off_with_release_and_config(d):
    from deploykit import open_dir
    r = d.jern("run", "nope", "--", "true")
    assert r.returncode == 1 and "does not exist" in r.stderr
    with open_dir() as wd:
        ok(d.jern("create", "job"))
        ok(d.jern("config", "set", "job", "GREETING=hello", "API_TOKEN=s3cr3t-run"))
        r = d.jern("run", "job", "--", "true")
        assert r.returncode == 1 and "no release serving" in r.stderr
        # (the CLI has no --workdir: the API takes it)
        r = d.admin().post("/v1/apps/job/deploy",
                           {"command": os.path.abspath(str(ROOT / exec_cmd())),
                            "workdir": str(wd), "health": "/health", "env": {"ONLY_V1": "yes"}})
        assert r.status == 202, r
        job = r.json()["job"]
        wait_for(lambda: d.admin().get(f"/v1/jobs/{job}").json()["done"], 30, step=0.1,
                 what="the deploy")
        assert d.admin().get(f"/v1/jobs/{job}").json()["ok"]
        (wd / "marker").write_text("here\n")
        # its config (secrets opened), --env of the release, its workdir;
        # output streamed per stream, the exit status passed through
        r = d.jern("run", "job", "--",
                   "sh", "-c", 'echo "$GREETING $API_TOKEN $ONLY_V1"; cat marker; '
                               'echo oops >&2; exit 7')
        assert r.returncode == 7, r.stdout + r.stderr
        assert r.stdout == "hello s3cr3t-run yes\nhere\n", r.stdout
        assert r.stderr == "oops\n"
        # one word with shell syntax is a shell line; --json after -- is the command's
        r = ok(d.jern("run", "job", "--", "echo $GREETING --json"))
        assert r.stdout == "hello --json\n"
        r = d.jern("run", "job", "--", "/no/such/program")
        assert r.returncode == 127, r.stdout + r.stderr
        # the serving instance is untouched and the one-off is gone
        assert len(d.ps("job")) == 1 and d.get("job", "/health").status_code == 200
        assert not [m for m in (d.state / "exec" / "instances").glob("job-v1-run-*")]
        h = ok(d.jern("history", "job")).stdout
        assert "run" in h and "/no/such/program" in h


def test_run_stops_when_the_caller_goes(d):
    import os
    ok(d.jern("deploy", "long", "--cmd", exec_cmd(), "--health", "/health"))
    p = subprocess.Popen([JERN, "run", "long", "--", "sh", "-c", "echo started; exec sleep 60"],
                         stdout=subprocess.PIPE, text=True, env={**os.environ, **d.env()})
    assert p.stdout.readline() == "started\n"
    runs = list((d.state / "exec" / "instances").glob("long-v1-run-*"))
    assert len(runs) == 1
    p.kill()
    p.wait()
    wait_for(lambda: not runs[0].exists(), 15, step=0.1, what="the one-off stopped and removed")


COMBINED = re.compile(r'^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] '
                      r'"GET (\S+) HTTP/1\.1" (\d{3}) \d+ "-" "([^"]*)"$')


def test_access_log_per_app(d):
    ok(d.jern("deploy", "acc", "--cmd", exec_cmd(), "--health", "/health"))
    ok(d.jern("deploy", "other", "--cmd", exec_cmd(), "--health", "/health"))
    import requests
    for i in range(3):
        requests.get(d.url(f"/status/20{i}"), headers={"Host": "acc.localhost",
                                                       "User-Agent": f"probe-{i}"}, timeout=10)
    requests.get(d.url("/pid"), headers={"Host": "other.localhost"}, timeout=10)

    def lines():
        return ok(d.jern("logs", "acc", "--access")).stdout.splitlines()
    wait_for(lambda: len(lines()) >= 3, 10, step=0.1, what="three access lines")
    got = [COMBINED.match(l) for l in lines()]
    assert all(got), lines()
    assert [(m.group(1), m.group(2), m.group(3)) for m in got] == \
        [(f"/status/20{i}", f"20{i}", f"probe-{i}") for i in range(3)]
    assert len(ok(d.jern("logs", "acc", "--access", "--tail", "1")).stdout.splitlines()) == 1
    assert "/pid" not in "\n".join(lines())  # another app's request is in its own log
    r = d.jern("logs", "acc", "--access", "--since", "1h")
    assert r.returncode == 1 and "--access takes --tail and -f" in r.stderr
    # -f: the next request's line comes as it is written
    p = subprocess.Popen([JERN, "logs", "acc", "--access", "-f", "--tail", "0"],
                         stdout=subprocess.PIPE, text=True, env={**os.environ, **d.env()})
    try:
        time.sleep(0.5)
        requests.get(d.url("/status/204"), headers={"Host": "acc.localhost"}, timeout=10)
        import select
        assert select.select([p.stdout], [], [], 10)[0], "no line within 10 s"
        line = p.stdout.readline()
        assert COMBINED.match(line.rstrip("\n")).group(1) == "/status/204", line
    finally:
        p.kill()
        p.wait()


def test_run_reads_the_callers_stdin_to_its_end(d):
    ok(d.jern("deploy", "con", "--cmd", exec_cmd(), "--health", "/health"))
    env = {**os.environ, **d.env()}
    # a console fed by a pipe: each line a command, the end of input ends the shell
    r = subprocess.run([JERN, "run", "con", "--", "sh"], input="echo hi\nexit 3\n",
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 3 and r.stdout == "hi\n", r.stdout + r.stderr
    # the end of input reaches the process: cat ends after the last byte, which all
    # arrive (more than a pipe holds at once: the CLI sends the rest as it is read)
    data = "".join(f"line {i:06d}\n" for i in range(20000))
    r = subprocess.run([JERN, "run", "con", "--", "sh", "-c", "cat | wc -lc"], input=data,
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0 and r.stdout.split() == ["20000", str(len(data))], \
        r.stdout + r.stderr
    # no input at all: an empty stdin, not a hang
    r = subprocess.run([JERN, "run", "con", "--", "sh", "-c", "cat; echo done"],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
                       env=env)
    assert r.returncode == 0 and r.stdout == "done\n", r.stdout + r.stderr
    # interactive: an answer comes before the input ends
    p = subprocess.Popen([JERN, "run", "con", "--", "sh"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, env=env)
    try:
        p.stdin.write("echo first\n")
        p.stdin.flush()
        import select
        assert select.select([p.stdout], [], [], 15)[0], "no answer within 15 s"
        assert p.stdout.readline() == "first\n"
        p.stdin.write("echo second; exit 5\n")
        p.stdin.close()
        assert p.stdout.read() == "second\n"
        assert p.wait(timeout=30) == 5
    finally:
        p.kill()
        p.wait()
    # input is not a change: the history has the runs, not their input
    h = ok(d.jern("history", "con")).stdout
    assert "stdin" not in h and h.count("run") >= 4, h
    # input for a one-off that is not running
    r = d.admin().post("/v1/apps/con/run/con-v1-run-0000/stdin", {"data": "aGkK", "eof": True})
    assert r.status == 404 and "runs now" in r.json()["error"], r
