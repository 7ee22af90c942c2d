"""make demo's script as a user meets it: the commands it prints work when
pasted as printed, and two quick SIGTERMs (what timeout and make send) leave
nothing running."""
import os
import signal
import subprocess
import time

from conftest import JERN, ROOT, free_port


def processes_mentioning(text):
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().decode(errors="replace")
        except OSError:
            continue
        if text in cmd or text in env:
            found.append((int(pid), cmd))
    return found


def test_demo_commands_work_as_printed_and_two_sigterms_stop_everything(tmp_path):
    demo = tmp_path / "demo"
    port = free_port()
    env = dict(os.environ, JERN_DEMO_PORT=str(port), JERN_DEMO_DIR=str(demo), JERN_BIN=JERN)
    for k in ("JERN_STATE", "JERN_ADMIN"):
        env.pop(k, None)
    log = open(tmp_path / "demo.out", "w")
    p = subprocess.Popen([str(ROOT / "scripts" / "demo.sh")], stdout=log, stderr=subprocess.STDOUT,
                         env=env, cwd=str(tmp_path), start_new_session=True)
    try:
        deadline = time.time() + 60
        out = ""
        while "Press Ctrl-C" not in out:
            assert p.poll() is None and time.time() < deadline, out
            time.sleep(0.1)
            out = (tmp_path / "demo.out").read_text()
        assert "hello from testapp" in out, out
        lines = out.split("Try, in another shell:\n", 1)[1].split("Press Ctrl-C")[0]
        cmds = [l.strip() for l in lines.splitlines() if l.strip()]
        assert cmds[0].startswith("cd ") and cmds[1].startswith("export JERN_ADMIN="), cmds
        assert any(" rollback demo" in c for c in cmds), cmds
        # pasted into a fresh shell, as printed
        clean = {k: v for k, v in os.environ.items() if not k.startswith("JERN_")}
        r = subprocess.run(["bash", "-euc", "\n".join(cmds)], capture_output=True, text=True,
                           timeout=120, env=clean, cwd="/")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "hello from testapp v2" in r.stdout, r.stdout
        assert "switched demo to release v2" in r.stdout
        assert "rolling back to demo release v1" in r.stdout, r.stdout
        # two quick SIGTERMs to the whole group, as timeout(1) and make send them
        os.killpg(p.pid, signal.SIGTERM)
        time.sleep(0.05)
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout=60)
        out = (tmp_path / "demo.out").read_text()
        # one cleanup, and it scaled the app down before stopping jern
        assert out.count("scaling the app to zero and stopping jern") == 1, out
        assert "did not finish" not in out, out
        deadline = time.time() + 10
        while processes_mentioning(str(demo)) and time.time() < deadline:
            time.sleep(0.1)
        assert processes_mentioning(str(demo)) == []
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        for pid, _ in processes_mentioning(str(demo)):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
