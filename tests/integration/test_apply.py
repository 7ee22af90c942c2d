"""jern plan / apply / export against a real daemon and real exec apps
(docs/APPLY.md): exit codes and diffs, apply twice = no change, an edit
redeploys only what changed with zero failed requests under wrk, bad input
changes nothing, --prune, secrets never printed, export -> plan = no change."""
import os
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from conftest import JERN, ROOT, free_port
from deploykit import DeployDaemon, exec_cmd, start_load, stop_load, wait_for

CONFIG = """jern { listen 127.0.0.1:{port}; }
http { upstream legacy { server 127.0.0.1:9; } }
"""

SECRET = "pw-7f3a-never-printed"


def spec(greeting="hello", instances=2, extra=""):
    return textwrap.dedent(f"""\
        version: 1
        apps:
          web:
            command: {exec_cmd()}
            workdir: {ROOT}
            env:
              GREETING: {greeting}
              DB_PASSWORD: ${{DB_PASSWORD}}
            instances: {instances}
            health: /health
            domains: [web.example.com]
          api:
            command: {exec_cmd()}
            workdir: {ROOT}
            instances: 1
        upstreams:
          legacy:
            servers:
              - 127.0.0.1:9
              - {{addr: 127.0.0.1:10, weight: 3}}
        """) + extra


@pytest.fixture
def d(procs, tmp_path):
    dd = DeployDaemon(procs, tmp_path, config=CONFIG)
    dd.start()
    yield dd
    dd.stop()
    dd.cleanup_exec()


def run(d, tmp_path, cmd, text, *args, env=None):
    f = tmp_path / "jern.yaml"
    f.write_text(text)
    e = {"DB_PASSWORD": SECRET}
    e.update(env or {})
    r = d.jern(cmd, "-f", str(f), *args, env=e)
    assert SECRET not in r.stdout + r.stderr, "a secret was printed"
    return r


def test_plan_apply_twice_edit_prune_export(d, tmp_path):
    # plan: everything to create, exit 2; nothing exists yet
    r = run(d, tmp_path, "plan", spec())
    assert r.returncode == 2, r.stdout + r.stderr
    assert "+ app web (create)" in r.stdout and "+ app api (create)" in r.stdout, r.stdout
    assert "env.DB_PASSWORD: (secret)" in r.stdout, r.stdout
    assert 'env.GREETING: "hello"' in r.stdout, r.stdout
    assert "server + 127.0.0.1:10 (weight 3, ready)" in r.stdout, r.stdout
    assert "Plan: 2 to create, 1 to update, 0 to delete." in r.stdout, r.stdout
    assert d.admin().get("/v1/apps").json()["apps"] == []

    # apply converges, health-gated, and reports its progress
    r = run(d, tmp_path, "apply", spec())
    assert r.returncode == 0, r.stdout + r.stderr
    assert "app web: deploying" in r.stdout and "is healthy" in r.stdout, r.stdout
    assert "Apply complete" in r.stdout, r.stdout
    assert len(d.ps("web")) == 2 and len(d.ps("api")) == 1
    assert d.get("web", "/env/GREETING").text.strip() == "hello"
    assert d.get("web", "/env/DB_PASSWORD").text.strip() == SECRET
    servers = {s["addr"]: s for s in d.admin().get("/v1/upstreams/legacy").json()["servers"]}
    assert servers["127.0.0.1:10"]["weight"] == 3

    # a second apply changes nothing, and plan says so with exit 0
    r = run(d, tmp_path, "apply", spec())
    assert r.returncode == 0 and "Nothing to change." in r.stdout, r.stdout + r.stderr
    r = run(d, tmp_path, "plan", spec())
    assert r.returncode == 0 and "No changes" in r.stdout, r.stdout + r.stderr
    releases = d.admin().get("/v1/apps/web/releases").json()["releases"]
    assert len(releases) == 1

    # a changed secret is seen without its value leaving the daemon
    r = run(d, tmp_path, "plan", spec(), env={"DB_PASSWORD": "other"})
    assert r.returncode == 2 and "env.DB_PASSWORD: (changed) -> (secret)" in r.stdout, r.stdout

    # an edit: only web changes; it is redeployed under load with no failed request
    before_api = [p["name"] for p in d.ps("api")]
    r = run(d, tmp_path, "plan", spec(greeting="hej"))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "~ app web (update)" in r.stdout and "app api" not in r.stdout, r.stdout
    assert "env.GREETING: (changed) -> \"hej\"" in r.stdout, r.stdout
    w = start_load(d, "web")
    wait_for(lambda: d.get("web").status_code == 200, 10, what="traffic")
    r = run(d, tmp_path, "apply", spec(greeting="hej"))
    n, out = stop_load(w)
    assert r.returncode == 0, r.stdout + r.stderr
    assert n > 100 and "Non-2xx" not in out and "Socket errors" not in out, out
    assert d.get("web", "/env/GREETING").text.strip() == "hej"
    assert [p["name"] for p in d.ps("api")] == before_api, "api was redeployed"

    # scale only: no new release
    r = run(d, tmp_path, "apply", spec(greeting="hej", instances=3))
    assert r.returncode == 0 and "app web: scaling to 3" in r.stdout, r.stdout + r.stderr
    assert len(d.ps("web")) == 3
    assert len(d.admin().get("/v1/apps/web/releases").json()["releases"]) == 2

    # api leaves the file: kept without --prune (a note, exit 0), destroyed with it
    no_api = re.sub(r"  api:\n(    .*\n)+", "", spec(greeting="hej", instances=3))
    r = run(d, tmp_path, "plan", no_api)
    assert r.returncode == 0 and "! app api (note)" in r.stdout, r.stdout + r.stderr
    r = run(d, tmp_path, "apply", no_api)
    assert r.returncode == 0 and "Nothing to change." in r.stdout, r.stdout
    assert d.admin().get("/v1/apps/api").status == 200
    r = run(d, tmp_path, "plan", no_api, "--prune")
    assert r.returncode == 2 and "- app api (delete)" in r.stdout, r.stdout
    r = run(d, tmp_path, "apply", no_api, "--prune")
    assert r.returncode == 0, r.stdout + r.stderr
    assert d.admin().get("/v1/apps/api").status == 404

    # export -> plan: no change (env values come back from the environment)
    out = tmp_path / "exported.yaml"
    r = d.jern("export", "-o", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert SECRET not in text and "${DB_PASSWORD}" in text, text
    envf = tmp_path / "secrets.env"
    envf.write_text(f"GREETING=hej\nDB_PASSWORD='{SECRET}'\n")
    r = d.jern("plan", "-f", str(out), "--env-file", str(envf), env={"DB_PASSWORD": ""})
    # the environment wins over the env file: an empty DB_PASSWORD differs
    assert r.returncode == 2, r.stdout + r.stderr
    e = dict(os.environ)
    e.update(d.env())
    e.pop("DB_PASSWORD", None)
    e.pop("GREETING", None)
    r = subprocess.run([JERN, "plan", "-f", str(out), "--env-file", str(envf)], env=e,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "No changes" in r.stdout, r.stdout + r.stderr + text


def test_env_is_the_apps_config_and_outlives_a_plain_deploy(d, tmp_path):
    """apply puts the file's env into the app's config (jern config), so a
    later plain `jern deploy` keeps it; ${VAR} values are stored as secrets."""
    text = textwrap.dedent(f"""\
        apps:
          web:
            command: {exec_cmd()}
            workdir: {ROOT}
            env:
              GREETING: hello
              SESSION: ${{SESSION_VALUE}}
        """)
    env = {"SESSION_VALUE": SECRET}

    def config():
        return {v["name"]: v for v in d.admin().get("/v1/apps/web/config").json()["vars"]}

    # deployed by hand first, GREETING given with that deploy's --env only
    r = d.jern("deploy", "web", "--cmd", exec_cmd(), "--env", "GREETING=hello")
    assert r.returncode == 0, r.stdout + r.stderr
    assert config() == {}
    r = run(d, tmp_path, "plan", text, env=env)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "env.GREETING: into the app's config (a later jern deploy keeps it)" in r.stdout, \
        r.stdout
    assert "env.SESSION: (secret)" in r.stdout, r.stdout
    r = run(d, tmp_path, "apply", text, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "env recorded in the app's config (2 variables)" in r.stdout, r.stdout
    assert "deploying (with its config)" in r.stdout, r.stdout
    cfg = config()
    assert cfg["GREETING"]["value"] == "hello" and not cfg["GREETING"]["secret"], cfg
    assert cfg["SESSION"]["secret"] and cfg["SESSION"]["value"] != SECRET, cfg
    assert d.get("web", "/env/SESSION").text == SECRET
    r = run(d, tmp_path, "plan", text, env=env)
    assert r.returncode == 0 and "No changes" in r.stdout, r.stdout + r.stderr

    # a plain deploy, no --env: the new release still has the file's env
    n = len(d.admin().get("/v1/apps/web/releases").json()["releases"])
    r = d.jern("deploy", "web", "--cmd", exec_cmd())
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(d.admin().get("/v1/apps/web/releases").json()["releases"]) == n + 1
    assert d.get("web", "/env/GREETING").text == "hello"
    assert d.get("web", "/env/SESSION").text == SECRET
    r = run(d, tmp_path, "plan", text, env=env)
    assert r.returncode == 0 and "No changes" in r.stdout, r.stdout + r.stderr

    # a name leaves the file: unset in the config, and gone from the new release
    text2 = text.replace("      GREETING: hello\n", "")
    r = run(d, tmp_path, "apply", text2, env=env)
    assert r.returncode == 0 and "env.GREETING: removed" in r.stdout, r.stdout + r.stderr
    assert set(config()) == {"SESSION"}
    assert d.get("web", "/env/GREETING").status_code == 404
    assert d.get("web", "/env/SESSION").text == SECRET
    r = run(d, tmp_path, "plan", text2, env=env)
    assert r.returncode == 0 and "No changes" in r.stdout, r.stdout + r.stderr


def test_bad_input_changes_nothing(d, tmp_path):
    cases = [
        ("apps:\n  web:\n    comand: x\n",
         'jern.yaml:3:5: unknown key "comand" in app "web" (did you mean "command"?)'),
        ("apps:\n  web:\n    command: x\n    instances: two\n",
         'jern.yaml:4:16: instances must be a whole number from 1 to 32, not "two"'),
        ("apps:\n  web:\n    command: x\n  web:\n    command: y\n",
         'jern.yaml:4:3: duplicate app "web" (first at line 2)'),
        ("apps:\n  web:\n    command: x\n    env:\n      K: ${UNSET_VAR_X}\n",
         "env K: variable UNSET_VAR_X is not set"),
        ("apps:\n  web:\n    command: x\n   - broken\n", "jern.yaml:4:"),
    ]
    for text, want in cases:
        for cmd in ("plan", "apply"):
            r = run(d, tmp_path, cmd, text)
            assert r.returncode == 1, (cmd, text, r.stdout, r.stderr)
            assert want in r.stderr, (cmd, r.stderr)
            assert "Applying" not in r.stdout
    assert d.admin().get("/v1/apps").json()["apps"] == []
    # a file the daemon refuses part of stops apply there, with the reason
    r = run(d, tmp_path, "apply",
            f"apps:\n  web:\n    command: ./no/such/program\n    workdir: {ROOT}\n")
    assert r.returncode == 1 and "no/such/program" in r.stderr, r.stdout + r.stderr
    assert "apply stopped at app web" in r.stderr, r.stderr
    assert d.admin().get("/v1/apps").json()["apps"] == []
    # an upstream the config does not have is a note, not an error
    r = run(d, tmp_path, "plan", "upstreams:\n  nope:\n    servers: [127.0.0.1:9]\n")
    assert r.returncode == 0 and "! upstream nope (note)" in r.stdout, r.stdout + r.stderr
    # the daemon unreachable: exit 1 with the fix
    f = tmp_path / "jern.yaml"
    f.write_text("apps: {}\n")
    r = subprocess.run([JERN, "plan", "-f", str(f), "--admin", str(tmp_path / "none.sock")],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 1 and "cannot reach the jern daemon" in r.stderr, r.stderr


def test_the_documented_example_runs(d):
    """docs/APPLY.md's example, as written, applied twice from the repository root."""
    doc = (ROOT / "docs" / "APPLY.md").read_text()
    example = doc.split("## Example", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    env = {"SESSION_KEY": SECRET}

    def apply():
        e = dict(os.environ)
        e.update(d.env())
        e.update(env)
        return subprocess.run([JERN, "apply", "-f", "-"], input=example, capture_output=True,
                              text=True, timeout=180, env=e, cwd=str(ROOT))

    r = apply()
    assert r.returncode == 0, r.stdout + r.stderr
    assert SECRET not in r.stdout + r.stderr
    assert "placement (require/prefer): recorded" in r.stdout, r.stdout
    assert len(d.ps("web")) == 2
    assert d.get("web", "/env/SESSION_KEY").text.strip() == SECRET
    auto = d.admin().get("/v1/apps/worker/autoscale").json()
    assert auto["min"] == 0 and auto["max"] == 2 and auto["idle_ms"] == 300000, auto
    r = apply()
    assert r.returncode == 0 and "Nothing to change." in r.stdout, r.stdout + r.stderr


def mariadbd_pids(state):
    pids = []
    for p in Path("/proc").iterdir():
        try:
            argv = (p / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"mariadbd") and any(
                a.startswith(b"--defaults-file=" + str(state).encode()) for a in argv):
            pids.append(int(p.name))
    return pids


@pytest.mark.skipif(not shutil.which("mariadbd"), reason="mariadb-server is not installed")
def test_database_and_attachment(d, tmp_path):
    """A real MariaDB made, attached, exported and pruned through the file."""
    port = free_port()
    text = textwrap.dedent(f"""\
        apps:
          shop:
            command: {exec_cmd()}
            workdir: {ROOT}
        databases:
          shop-db:
            memory: 256M
            port: {port}
            attach: [shop]
        """)
    try:
        r = run(d, tmp_path, "plan", text)
        assert r.returncode == 2 and "+ database shop-db (create)" in r.stdout, r.stdout
        assert "attach: + shop" in r.stdout, r.stdout
        r = run(d, tmp_path, "apply", text)
        assert r.returncode == 0, r.stdout + r.stderr
        db = d.admin().get("/v1/databases/shop-db").json()
        assert db["port"] == port and db["memory_mb"] == 256 and db["apps"] == ["shop"], db
        r = run(d, tmp_path, "plan", text)
        assert r.returncode == 0, r.stdout + r.stderr
        out = tmp_path / "exported.yaml"
        assert d.jern("export", "-o", str(out)).returncode == 0
        assert "shop-db:" in out.read_text() and f"port: {port}" in out.read_text()
        r = d.jern("plan", "-f", str(out))
        assert r.returncode == 0, r.stdout + r.stderr + out.read_text()
        # a memory change is a note: no API resizes a database in place
        r = run(d, tmp_path, "plan", text.replace("256M", "512M"))
        assert r.returncode == 0 and "not changed in place" in r.stdout, r.stdout
        # gone from the file: kept without --prune, destroyed with it
        no_db = text.split("databases:")[0]
        r = run(d, tmp_path, "apply", no_db)
        assert r.returncode == 0 and "! database shop-db (note)" in r.stdout, r.stdout
        r = run(d, tmp_path, "apply", no_db, "--prune")
        assert r.returncode == 0 and "- database shop-db (delete)" in r.stdout, r.stdout
        assert d.admin().get("/v1/databases/shop-db").status == 404
    finally:
        for db in d.admin().get("/v1/databases").json().get("databases", []):
            d.jern("db", "destroy", db["name"], "--force")
        for pid in mariadbd_pids(d.state):
            os.kill(pid, 9)
