"""README.md's CLI session, replayed verbatim: every ```console block marked
<!-- replayed: tests/integration/test_readme.py --> runs, in order, in one
bash, from a fresh directory laid out as the source tree after `make`
(build/jern, build/jern-testapp, and tests/app/dbapp.py, the app the database
block deploys). Each `$ ` command must exit as the README
shows it (non-zero where the README shows a "jern: ..." error), and each
output line the README shows (where its numbers are times, dates, ports,
counts, and a URL's password: any value matches there) must appear in what
the command printed.

The session uses the README's own addresses (127.0.0.1:8080, 9001, 9002), so
it runs in a network namespace of its own (and a pid namespace, which takes
every process it started with it): nothing else on the machine is touched.
The database block runs Debian's real mariadbd (port 13306, free in that
namespace) and destroys it at its end."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import JERN, ROOT, TESTAPP
from deploykit import open_dir

MARK = "<!-- replayed: tests/integration/test_readme.py -->"


def session():
    """[(command, expected output lines)] of the marked blocks, in order."""
    text = (ROOT / "README.md").read_text()
    steps = []
    for block in text.split(MARK)[1:]:
        body = block.split("```console\n", 1)[1].split("\n```", 1)[0]
        cmd = None
        for line in body.splitlines():
            if line.startswith("$ "):
                cmd = line[2:]
                steps.append([cmd, []])
            elif cmd is not None and steps[-1][0].endswith("\\"):
                steps[-1][0] += "\n" + line
            else:
                steps[-1][1].append(line)
    return steps


def pattern(line):
    """The README's line as a regex: what differs from run to run (times,
    dates, ports, counts, the random tail of instance names, the random
    password of a URL's user) matches any value; release names (v1, v2) and
    all words must be as shown."""
    out = ""
    for tok in re.split(r"((?<=:)[A-Za-z0-9]{24}(?=@)|-[0-9a-f]{4}\b|\b\d+s\b|(?<!v)\d+(?:\.\d+)?)",
                        line):
        if re.fullmatch(r"[A-Za-z0-9]{24}", tok or ""):
            out += r"[A-Za-z0-9]{24}"  # jern's passwords: 24 letters and digits
        elif re.fullmatch(r"-[0-9a-f]{4}", tok or ""):
            out += r"-[0-9a-f]{4}"
        elif re.fullmatch(r"\d+s", tok or ""):
            out += r"(?:\d+s|-)"  # an uptime: "-" before the first second
        elif re.fullmatch(r"\d+(?:\.\d+)?", tok or ""):
            out += r"\d+(?:\.\d+)?"
        else:
            out += re.escape(tok or "")
    return re.compile(out)


def script(steps):
    lines = []
    after_bg = False
    for i, (cmd, _) in enumerate(steps):
        lines.append(f"printf '\\n@@BEGIN {i}\\n'")
        if after_bg:
            # typed right after starting a daemon: a person is slower than
            # this script, so wait (bounded) for it as a person would
            lines.append(f"for _t in $(seq 100); do\n{cmd}\nrc=$?; [ $rc -eq 0 ] && break; "
                         "sleep 0.1; done; (exit $rc)")
        else:
            lines.append(cmd)
        lines.append(f"printf '\\n@@END {i} %d\\n' $?")
        after_bg = re.sub(r"\s+#.*$", "", cmd.splitlines()[-1]).rstrip().endswith("&")
    return "exec 2>&1\n" + "\n".join(lines) + "\n"


def test_readme_session_runs_verbatim(tmp_path):
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare(1) for a network namespace of its own")
    if not shutil.which("mariadbd") or not shutil.which("mariadb-install-db"):
        pytest.skip("the database block needs mariadb-server (scripts/install-deps.sh)")
    pytest.importorskip("pymysql")  # tests/app/dbapp.py runs on this /usr/bin/python3
    steps = session()
    cmds = [c for c, _ in steps]
    assert any("deploy shop" in c for c in cmds) and any("rollback shop" in c for c in cmds)
    assert any("db create shop-db" in c for c in cmds) and cmds[-1].startswith(
        "jern db destroy shop-db --force")  # the database the session made goes with it
    with open_dir() as src:
        (src / "build").mkdir(mode=0o755)
        os.symlink(JERN, src / "build" / "jern")
        shutil.copy(TESTAPP, src / "build" / "jern-testapp")  # apps may run as jern-app
        (src / "tests" / "app").mkdir(parents=True)
        shutil.copy2(ROOT / "tests" / "app" / "dbapp.py", src / "tests" / "app")
        (src / "session.sh").write_text(script(steps))
        env = {k: v for k, v in os.environ.items() if not k.startswith("JERN_")}
        env["JERN_ACME_DIRECTORY"] = "off"  # the daemon never asks a real CA
        # an installed jern on this machine (/etc/jern) stays out of it
        (src / "sysroot").mkdir()
        env["JERN_SYSROOT"] = str(src / "sysroot")
        r = subprocess.run(
            ["unshare", "--net", "--pid", "--mount", "--fork", "--kill-child", "--mount-proc",
             "bash", "-c", "ip link set lo up && exec bash session.sh"],
            cwd=str(src), env=env, capture_output=True, text=True, timeout=180)
        out = r.stdout
    segs = {}
    for m in re.finditer(r"@@BEGIN (\d+)\n(.*?)\n@@END \1 (\d+)\n", out, re.S):
        segs[int(m.group(1))] = (m.group(2), int(m.group(3)))
    for i, (cmd, expected) in enumerate(steps):
        assert i in segs, f"command {i} never finished: {cmd}\n{out[-3000:]}\n{r.stderr[-2000:]}"
        got, rc = segs[i]
        fails = bool(expected) and expected[0].startswith("jern: ")
        assert (rc != 0) == fails, f"$ {cmd}\nexit {rc}\n{got}"
        flat = [" ".join(l.split()) for l in got.splitlines()]
        for line in expected:
            want = " ".join(re.sub(r"\s+#\s.*$", "", line).split())
            if not want or want == "...":
                continue
            pat = pattern(want)
            assert any(pat.fullmatch(l) for l in flat), \
                f"$ {cmd}\nmissing: {want!r} ({pat.pattern})\ngot:\n{got}"


# The README's console blocks that the session above does not replay, by their
# first command, and why; each is replayed in its own test against the real
# components instead. A new block must be replayed or listed here.
NOT_REPLAYED = {
    "jern create shop --domain shop.test":
        "HTTPS: it needs listeners on ports 80 and 443, a CA (Pebble) the daemon "
        "is configured for and curl trusts, and shop.test resolving to the gateway; "
        "the session's daemon is the plain one of the first block, and shop already "
        "exists there. test_certs.py runs these steps against Pebble: an app domain "
        "gets its certificate (create --domain), HTTPS with redirect (domains set "
        "--https redirect), jern certs, cert add and cert renew.",
    "jern serve --cluster http://10.0.0.1:2379 --node oslo-1   --advertise 10.0.0.11 "
    "--label jurisdiction=NO --label site=oslo-1":
        "Cluster: three machines (10.0.0.11-13) and etcd on 10.0.0.1; test_cluster.py "
        "runs the same nodes, labels, placement and where on loopback with real etcd.",
    "cat jern.yaml":
        "apply: it shows a file the source tree does not have and adds a node over SSH "
        "to 203.0.113.7; test_apply.py and test_node_ssh.py run plan, apply, export "
        "and node add (against a local sshd).",
}


def console_blocks():
    """(marked, first command) of every ```console block of the README."""
    text = (ROOT / "README.md").read_text()
    out = []
    for m in re.finditer(r"(<!-- [^\n]* -->\n)?```console\n(.*?)\n```", text, re.S):
        first = next(l[2:] for l in m.group(2).splitlines() if l.startswith("$ "))
        out.append((m.group(1) == MARK + "\n", first))
    return out


def test_every_console_block_is_replayed_or_says_why_not():
    blocks = console_blocks()
    assert len(blocks) >= 8
    unmarked = {re.sub(r"\s+#\s.*$", "", first).strip().replace("build/jern", "jern")
                for marked, first in blocks if not marked}
    assert unmarked == set(NOT_REPLAYED), \
        f"replay these README blocks in the session or say here why not: " \
        f"{sorted(unmarked - set(NOT_REPLAYED))}; listed but replayed or gone: " \
        f"{sorted(set(NOT_REPLAYED) - unmarked)}"
    # the session is what the marked blocks hold, config and one-off runs included
    cmds = [c for c, _ in session()]
    assert sum(marked for marked, _ in blocks) == 5
    assert any("config set shop" in c for c in cmds) and any("run shop -- sh" in c for c in cmds)
    assert any("db attach shop-db shop" in c for c in cmds) and any("db backup shop-db" in c
                                                                    for c in cmds)
