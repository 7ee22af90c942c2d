"""jern config and jern history, end to end on the exec driver: the real
binary, real processes, traffic through jern's gateway, the state read back
from its SQLite file."""
import os
import sqlite3
import stat

import pytest

from deploykit import DeployDaemon, exec_cmd


@pytest.fixture
def d(procs, tmp_path):
    daemon = DeployDaemon(procs, tmp_path).start()
    yield daemon
    daemon.stop()
    daemon.cleanup_exec()


def ok(r):
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def env_of(d, app, name):
    r = d.get(app, f"/env/{name}")
    return r.text if r.status_code == 200 else None


def test_config_lasts_across_deploys_and_secrets_stay_sealed(d):
    # Set before the first deploy: kept, given to the first release.
    r = d.jern("config", "set", "web", "GREETING=hello")
    assert r.returncode == 1 and "does not exist" in r.stderr and "jern create web" in r.stderr
    ok(d.jern("create", "web"))
    r = ok(d.jern("config", "set", "web", "GREETING=hello", "API_TOKEN=tok-s3cr3t-value"))
    assert "next deploy" in r.stdout
    r = ok(d.jern("config", "set", "web", "PLAIN_BUT_HIDDEN=pssst-42", "--secret"))
    ok(d.jern("deploy", "web", "--cmd", f"echo token=$API_TOKEN; exec {exec_cmd()}",
              "--health", "/health", "--env", "APP_VERSION=v1"))
    assert env_of(d, "web", "GREETING") == "hello"
    # the app's output shows a secret masked
    r = ok(d.jern("logs", "web"))
    assert "token=*****" in r.stdout and "tok-s3cr3t-value" not in r.stdout, r.stdout
    body = d.admin().get("/v1/apps/web/logs").text
    assert "token=*****" in body and "tok-s3cr3t-value" not in body
    assert env_of(d, "web", "API_TOKEN") == "tok-s3cr3t-value"
    assert env_of(d, "web", "PLAIN_BUT_HIDDEN") == "pssst-42"
    assert env_of(d, "web", "APP_VERSION") == "v1"

    # A deploy without --env keeps the config (it used to drop everything);
    # the --env of v1 was for v1 only.
    ok(d.jern("deploy", "web", "--cmd", exec_cmd(), "--health", "/health"))
    assert env_of(d, "web", "GREETING") == "hello"
    assert env_of(d, "web", "API_TOKEN") == "tok-s3cr3t-value"
    assert env_of(d, "web", "APP_VERSION") is None

    # --env overrides for that release only.
    ok(d.jern("deploy", "web", "--cmd", exec_cmd(), "--health", "/health",
              "--env", "GREETING=override"))
    assert env_of(d, "web", "GREETING") == "override"
    r = ok(d.jern("config", "web"))
    assert "GREETING" in r.stdout and "hello" in r.stdout

    # Listings mask secrets; only config get shows one.
    assert "tok-s3cr3t-value" not in r.stdout and "pssst-42" not in r.stdout
    assert "*****" in r.stdout
    for path in ("/v1/apps/web/config", "/v1/apps/web/releases", "/v1/apps/web",
                 "/v1/history", "/metrics", "/v1/apps/web/ps"):
        body = d.admin().get(path).text
        assert "tok-s3cr3t-value" not in body and "pssst-42" not in body, path
    assert ok(d.jern("config", "get", "web", "API_TOKEN")).stdout == "tok-s3cr3t-value\n"
    assert ok(d.jern("config", "get", "web", "PLAIN_BUT_HIDDEN")).stdout == "pssst-42\n"

    # set on a serving app rolls out a release with it; scale and restart keep it.
    r = ok(d.jern("config", "set", "web", "GREETING=bonjour"))
    assert "rolling out release v4" in r.stdout, r.stdout
    assert env_of(d, "web", "GREETING") == "bonjour"
    ok(d.jern("scale", "web", "2"))
    ok(d.jern("restart", "web"))
    for _ in range(4):
        assert env_of(d, "web", "GREETING") == "bonjour"
        assert env_of(d, "web", "API_TOKEN") == "tok-s3cr3t-value"
    ok(d.jern("config", "unset", "web", "GREETING"))
    assert env_of(d, "web", "GREETING") is None
    r = d.jern("config", "unset", "web", "NOPE")
    assert r.returncode == 1 and "no config variable NOPE" in r.stderr

    # A rollback returns with the config of its release, and says so.
    r = ok(d.jern("rollback", "web", "4"))
    assert "config of v4 is the app's config again" in r.stdout, r.stdout
    assert "API_TOKEN (secret)" in r.stdout
    assert env_of(d, "web", "GREETING") == "bonjour"
    assert "bonjour" in ok(d.jern("config", "web")).stdout

    # At rest: the SQLite file (and its WAL) hold no secret in clear.
    d.stop()
    for f in d.state.glob("*.db*"):
        raw = f.read_bytes()
        assert b"tok-s3cr3t-value" not in raw and b"pssst-42" not in raw, f
    db = sqlite3.connect(str(next(d.state.glob("*.db"))))
    (cfg,) = db.execute("SELECT config FROM apps WHERE name = 'web'").fetchone()
    assert "jn-secret:v1:" in cfg and "bonjour" in cfg
    db.close()
    key = d.state / "secret.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and key.stat().st_size == 32

    # The key is what opens them: another key cannot.
    d.start()
    assert ok(d.jern("config", "get", "web", "API_TOKEN")).stdout == "tok-s3cr3t-value\n"
    d.stop()
    key.write_bytes(os.urandom(32))
    d.start()
    r = d.jern("config", "get", "web", "API_TOKEN")
    assert r.returncode == 1 and "does not open" in r.stderr


def test_bad_config_input_gets_clear_errors(d):
    ok(d.jern("create", "api"))
    r = d.jern("config", "set", "api", "1BAD=x")
    assert r.returncode == 1 and "is invalid" in r.stderr
    r = d.jern("config", "set", "api", "novalue")
    assert r.returncode == 2 and "is not NAME=VALUE" in r.stderr
    r = d.jern("config", "set", "api", "X=jn-secret:v1:AAAA")
    assert r.returncode == 1 and "may not start with" in r.stderr
    r = d.jern("config", "get", "api", "MISSING")
    assert r.returncode == 1 and "no config variable MISSING" in r.stderr
    r = d.admin().post("/v1/apps/api/config", {"set": {"A": 1}})
    assert r.status == 400
    r = d.admin().post("/v1/apps/api/config", {})
    assert r.status == 400 and "nothing to change" in r.json()["error"]


def test_history_records_who_did_what(d):
    ok(d.jern("create", "hist"))
    ok(d.jern("config", "set", "hist", "DB_PASSWORD=hunter2-xyz"))
    ok(d.jern("deploy", "hist", "--cmd", exec_cmd(), "--health", "/health"))
    ok(d.jern("scale", "hist", "2"))
    ok(d.jern("destroy", "hist", "--yes"))
    d.jern("scale", "hist", "1")  # fails: not recorded
    r = ok(d.jern("history", "hist"))
    lines = r.stdout.splitlines()
    actions = [l.split()[4] for l in lines]
    assert actions == ["create", "config", "deploy", "scale", "destroy"], r.stdout
    who = f"uid {os.getuid()}"
    assert all(who in l for l in lines), r.stdout
    assert "set DB_PASSWORD (secret)" in r.stdout and "hunter2" not in r.stdout
    assert "2 instance(s)" in r.stdout
    # Everything, and what outlives the app; the JSON form.
    r = d.admin().get("/v1/history?limit=2")
    assert [h["action"] for h in r.json()["history"]] == ["scale", "destroy"]
    assert d.admin().get("/v1/history?limit=0").status == 400
