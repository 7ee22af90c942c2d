"""The jern CLI against a running daemon: tables, --json, errors, exit codes."""
import json

import pytest

from jerndaemon import Daemon


@pytest.fixture
def daemon(procs, tmp_path):
    return Daemon(procs, tmp_path).start()


def test_cli_session(daemon):
    r = daemon.cli("create", "shop", "--domain", "shop.example.com", "--domain", "www.shop.example.com")
    assert r.returncode == 0, r.stderr
    assert "shop.localhost" in r.stdout and "www.shop.example.com" in r.stdout

    r = daemon.cli("apps")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[0].split()[:2] == ["APP", "SERVERS"]
    assert lines[1].split()[0] == "shop"

    r = daemon.cli("apps", "--json")
    assert json.loads(r.stdout)["apps"][0]["domains"] == ["shop.example.com", "www.shop.example.com"]

    r = daemon.cli("upstream", "shop", "add", "127.0.0.1:9001", "weight=3")
    assert r.returncode == 0, r.stderr
    assert "added 127.0.0.1:9001" in r.stdout
    assert daemon.cli("upstream", "shop", "add", "127.0.0.1:9002").returncode == 0
    r = daemon.cli("upstream", "shop", "set", "127.0.0.1:9002", "state=drain", "weight=7")
    assert r.returncode == 0, r.stderr
    r = daemon.cli("upstream", "shop")
    rows = [l.split() for l in r.stdout.splitlines()[1:]]
    assert [row[:4] for row in rows] == [["shop", "127.0.0.1:9001", "3", "ready"],
                                         ["shop", "127.0.0.1:9002", "7", "drain"]]
    r = daemon.cli("upstream", "--json")
    assert json.loads(r.stdout)["upstreams"][0]["name"] == "shop"
    assert daemon.cli("upstream", "shop", "remove", "127.0.0.1:9001").returncode == 0

    r = daemon.cli("domains", "shop", "remove", "shop.example.com")
    assert r.returncode == 0, r.stderr
    r = daemon.cli("domains", "shop")
    assert r.stdout.split() == ["www.shop.example.com"]
    r = daemon.cli("status")
    assert r.returncode == 0 and "apps         1" in r.stdout
    assert json.loads(daemon.cli("status", "--json").stdout)["servers"] == 1

    r = daemon.cli("destroy", "shop", "--yes")
    assert r.returncode == 0
    assert "no apps yet" in daemon.cli("apps").stdout


def test_cli_errors_name_the_thing_and_the_fix(daemon):
    r = daemon.cli("destroy", "shop", "--yes")
    assert r.returncode == 1
    assert r.stderr.strip() == "jern: app 'shop' does not exist (create it with: jern create shop)"
    r = daemon.cli("domains", "shop", "add", "x.example.com")
    assert r.returncode == 1 and "create it with: jern create shop" in r.stderr
    assert daemon.cli("create", "shop").returncode == 0
    r = daemon.cli("create", "shop")
    assert r.returncode == 1 and "app 'shop' already exists" in r.stderr
    r = daemon.cli("upstream", "shop", "add", "not-an-address")
    assert r.returncode == 1 and "invalid server address 'not-an-address'" in r.stderr
    r = daemon.cli("upstream", "shop", "set", "127.0.0.1:1", "state=up")
    assert r.returncode == 1 and "ready, drain or maint" in r.stderr
    r = daemon.cli("upstream", "shop", "set", "127.0.0.1:1", "bogus")
    assert r.returncode == 2 and "unexpected 'bogus'" in r.stderr
    r = daemon.cli("create")
    assert r.returncode == 2 and "usage: jern create APP" in r.stderr
    r = daemon.cli("create", "Bad_Name")
    assert r.returncode == 1 and "invalid app name 'Bad_Name'" in r.stderr


def test_cli_without_daemon_says_how_to_start_it(tmp_path):
    from conftest import JERN
    import subprocess, os
    sock = tmp_path / "nothing.sock"
    env = dict(os.environ, JERN_ADMIN=str(sock))
    r = subprocess.run([JERN, "apps"], capture_output=True, text=True, timeout=10, env=env)
    assert r.returncode == 1
    assert f"cannot reach the jern daemon at {sock}" in r.stderr
    assert "start it with: jern serve" in r.stderr
    r = subprocess.run([JERN, "status", "--admin", "unix:" + str(sock)], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 1 and str(sock) in r.stderr
