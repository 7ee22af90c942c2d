"""The CLI as a new user meets it: help for every command within 80 columns,
"did you mean" for a typo, destroy asking first, a failed first deploy that
leaves nothing behind, the man page and the bash completion."""
import os
import pty
import re
import select
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import JERN, ROOT
from deploykit import DeployDaemon


def run(*args, env=None, **kw):
    e = dict(os.environ, JERN_ADMIN="/nonexistent/admin.sock")
    e.update(env or {})
    return subprocess.run([JERN, *args], capture_output=True, text=True, timeout=20, env=e, **kw)


def commands():
    out = run("help").stdout
    names = []
    for line in out.splitlines():
        m = re.match(r"^  ([a-z]+)\b", line)
        if m and m.group(1) not in names:
            names.append(m.group(1))
    return names


def test_every_command_has_help_within_80_columns():
    r = run("help")
    assert r.returncode == 0
    wide = [l for l in r.stdout.splitlines() if len(l) > 80]
    assert not wide, wide
    names = commands()
    assert {"serve", "deploy", "destroy", "gateway", "db", "help"} <= set(names), names
    # one run per command (the sanitizer build starts slowly): `help NAME` takes
    # the same path as `NAME --help`, checked for a few below
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda n: ((n, "--help"), run(n, "--help")), names))
    for args, r in answers:
        assert r.returncode == 0, (args, r.stdout, r.stderr)
        assert r.stdout.strip(), args
        wide = [l for l in r.stdout.splitlines() if len(l) > 80]
        assert not wide, (args, wide)
    # help deploy is deploy's own help, not the general one
    r = run("help", "deploy")
    assert "--health-timeout" in r.stdout and "serverless on your own iron" not in r.stdout
    assert run("help", "deploy").stdout == run("deploy", "--help").stdout
    assert run("help", "destroy").stdout == run("destroy", "--help").stdout
    assert run("gateway", "--help").returncode == 0
    assert run("gateway").returncode == 2  # no -c: a usage error still


def test_a_typo_gets_did_you_mean():
    r = run("deplyo", "shop")
    assert r.returncode == 2
    assert "unknown command 'deplyo' (did you mean 'deploy'?" in r.stderr, r.stderr
    assert "did you mean" not in run("xyzzy").stderr
    assert "did you mean 'rollback'" in run("help", "rolback").stderr


@pytest.fixture
def daemon(procs, tmp_path):
    d = DeployDaemon(procs, tmp_path).start()
    yield d
    d.stop()
    d.cleanup_exec()


def on_terminal(d, args, answer):
    """Runs the CLI on a pseudo-terminal and answers its question."""
    env = dict(os.environ)
    env.update(d.env())
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(JERN, [JERN, *args], env)
    out = b""
    sent = False
    deadline = time.time() + 15
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        if not sent and b"[y/N]" in out:
            os.write(fd, answer)
            sent = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


def test_destroy_asks_on_a_terminal_and_wants_yes_elsewhere(daemon):
    d = daemon
    assert d.cli("create", "shop").returncode == 0
    # not a terminal, no --yes: refused, nothing deleted
    r = d.cli("destroy", "shop")
    assert r.returncode == 1
    assert "confirm with: jern destroy shop --yes" in r.stderr, r.stderr
    assert d.admin().get("/v1/apps/shop").status == 200
    # a terminal: asked; "n" keeps it, "y" deletes it
    rc, out = on_terminal(d, ["destroy", "shop"], b"n\n")
    assert rc == 1 and "Destroy app 'shop'" in out and "kept" in out, out
    assert d.admin().get("/v1/apps/shop").status == 200
    rc, out = on_terminal(d, ["destroy", "shop"], b"y\n")
    assert rc == 0 and "destroyed app 'shop'" in out, out
    assert d.admin().get("/v1/apps/shop").status == 404
    # --yes: no question
    assert d.cli("create", "shop").returncode == 0
    r = d.cli("destroy", "shop", "--yes")
    assert r.returncode == 0 and "destroyed app 'shop'" in r.stdout


def test_a_failed_first_deploy_leaves_no_app_behind(daemon):
    d = daemon
    r = d.jern("deploy", "boom", "--cmd", "echo boom-before-health >&2; exit 3",
               "--health", "/health")
    assert r.returncode == 1
    assert "exited with status 3 before it became healthy" in r.stdout, r.stdout
    assert "boom-before-health" in r.stdout and "daemon is stopping" not in r.stdout
    assert "removed app 'boom' again: its first deploy failed" in r.stdout, r.stdout
    assert d.admin().get("/v1/apps/boom").status == 404
    assert "no apps yet" in d.cli("apps").stdout
    # an app the user created stays when its deploy fails
    assert d.cli("create", "kept").returncode == 0
    r = d.jern("deploy", "kept", "--cmd", "exit 3", "--health", "/health")
    assert r.returncode == 1 and "removed app" not in r.stdout
    assert d.admin().get("/v1/apps/kept").status == 200


def test_man_page_renders_and_lists_every_command():
    page = ROOT / "docs" / "jern.1"
    r = subprocess.run(["groff", "-man", "-ww", "-z", str(page)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    env = dict(os.environ, MANWIDTH="80")
    if shutil.which("man"):
        r = subprocess.run(["man", "-P", "cat", "-l", str(page)], capture_output=True, text=True,
                           timeout=30, env=env)
    else:
        r = subprocess.run(["groff", "-man", "-Tutf8", "-rLL=80n", str(page)],
                           capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    text = re.sub(r".\x08", "", r.stdout)  # no overstrike
    assert "FINDING THE DAEMON" in text and "/run/jern/admin.sock" in text
    section = text.split("\nCOMMANDS\n", 1)[1].split("\nOPTIONS\n", 1)[0]
    listed = set(re.findall(r"^ {7}jern ([a-z]+)\b", section, re.M))
    missing = [c for c in commands() if c not in listed]
    assert not missing, f"docs/jern.1 does not describe: {missing}"


def test_bash_completion_of_commands_options_and_app_names(daemon):
    d = daemon
    for app in ("shop", "shelf"):
        assert d.cli("create", app).returncode == 0
    script = ROOT / "contrib" / "jern.bash-completion"

    def complete(*words):
        words = [JERN, *words]
        line = " ".join(f"'{w}'" for w in words)
        r = subprocess.run(
            ["bash", "-c", f'source "{script}"; COMP_WORDS=({line}); '
             f'COMP_CWORD={len(words) - 1}; _jern; printf "%s\\n" "${{COMPREPLY[@]}}"'],
            capture_output=True, text=True, timeout=30, env=dict(os.environ, **d.env()))
        assert r.returncode == 0, r.stderr
        return sorted(w for w in r.stdout.split("\n") if w)

    assert complete("de") == ["deploy", "destroy"]
    assert complete("deploy", "sh") == ["shelf", "shop"]
    assert complete("deploy", "shop", "--he") == ["--health", "--health-timeout"]
    assert complete("db", "ba") == ["backup", "backups"]
    assert complete("help", "rol") == ["rollback"]
    assert "--yes" in complete("destroy", "shop", "--")
