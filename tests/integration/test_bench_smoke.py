"""bench/run.sh in its smoke mode (BENCH_QUICK=1), shortened further: keeps the
harness from rotting. Asserts only that it ran every proxy it could and wrote
a well-formed report; never anything about speed."""
import json
import os
import re
import subprocess

import pytest

from conftest import JERN, ROOT, have

LOADS = ("-c1", "-c50", "-c500")
PROXIES = ("nginx", "HAProxy", "jern")


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    for tool in ("nginx", "haproxy", "wrk"):
        if not have(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            pytest.skip(f"{tool} not installed (scripts/install-deps.sh installs it)")
    out = tmp_path_factory.mktemp("bench")
    env = dict(os.environ, BENCH_QUICK="1", BENCH_SECONDS="1", BENCH_IDLE_CONNS="300",
               BENCH_OUT=str(out), JERN_BIN=JERN)
    r = subprocess.run([str(ROOT / "bench" / "run.sh")], env=env, capture_output=True,
                       text=True, timeout=240)
    return r, out


def test_bench_smoke_exits_zero_and_writes_both_files(bench_run):
    r, out = bench_run
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert (out / "latest.md").is_file()
    assert (out / "latest.json").is_file()


def test_bench_smoke_table_has_a_row_per_proxy_and_load(bench_run):
    r, out = bench_run
    md = (out / "latest.md").read_text()
    jern_ran = "jern: skipped" not in md
    assert "## Medians of 1 round, pinned" in md and "## Medians of 1 round, unpinned" in md
    for load in LOADS:
        for proxy in PROXIES:
            row = re.search(rf"^\| {load} \| {proxy} \| (.*)$", md, re.M)
            assert row, f"no row for {proxy} at {load}:\n{md}"
            cells = [c.strip() for c in row.group(1).split("|")]
            if proxy == "jern" and not jern_ran:
                assert cells[0] == "not run"
                continue
            # req/s, p50, p99, CPU s, req per CPU-s, peak RSS, errors: all numbers
            nums = [float(c) for c in cells[:7]]
            assert nums[0] > 0 and nums[5] > 0, row.group(0)
            # then the spread and the per-request costs (n/a only where /proc said nothing)
            assert re.fullmatch(r"[0-9]+-[0-9]+", cells[7]), row.group(0)
            per_req = [float(c) for c in cells[8:13]]
            assert per_req[0] > 0 and per_req[1] > 0, row.group(0)


def test_bench_smoke_reports_idle_memory_and_every_target(bench_run):
    r, out = bench_run
    md = (out / "latest.md").read_text()
    for proxy in ("nginx", "HAProxy"):
        row = re.search(rf"^\| {proxy} \| 300 \| 300 \| [0-9.]+ \| [0-9.]+ \| -?[0-9.]+ \|$",
                        md, re.M)
        assert row, f"no idle-memory row for {proxy}:\n{md}"
    targets = re.findall(r"^\| (.*) \| (n/a|[0-9.]+) \| (PASS|FAIL|SKIP) \|$", md, re.M)
    assert len(targets) == 7, md
    for line in ("jern/nginx", "jern/HAProxy"):
        assert f"req/s {line} |" in md
        assert f"req/s {line}, per round min-max (rounds) |" in md
    # the same verdicts are printed
    assert len(re.findall(r"^(PASS|FAIL|SKIP) ", r.stdout, re.M)) == 7


def test_bench_smoke_raw_json_matches(bench_run):
    r, out = bench_run
    raw = json.loads((out / "latest.json").read_text())
    ran = {m["proxy"] for m in raw["measurements"]}
    assert {"nginx", "haproxy"} <= ran
    for proxy in ran:
        for layout in ("pinned", "unpinned"):
            loads = sorted(m["load"] for m in raw["measurements"]
                           if m["proxy"] == proxy and m["layout"] == layout)
            assert loads == [1, 50, 500]
    assert raw["meta"]["rounds"] == 1 and raw["meta"]["seconds"] == 1
    assert raw["failed"] == []


def test_bench_rejects_bad_settings_naming_the_variable():
    env = dict(os.environ, BENCH_SECONDS="ten")
    r = subprocess.run([str(ROOT / "bench" / "run.sh")], env=env, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2
    assert "BENCH_SECONDS='ten'" in r.stderr and "whole number" in r.stderr


def test_bench_reports_a_proxy_that_fails_to_start_and_exits_1(tmp_path):
    if not have("wrk") or not os.path.exists("/usr/sbin/haproxy"):
        pytest.skip("wrk or haproxy not installed (scripts/install-deps.sh installs them)")
    fake = tmp_path / "jern"
    fake.write_text("#!/bin/sh\n"
                    "if [ \"$1 $2\" = 'gateway --help' ]; then echo 'usage: jern gateway -c FILE'; exit 0; fi\n"
                    "echo 'jern: proxy.conf:3: broken on purpose' >&2; exit 1\n")
    fake.chmod(0o755)
    env = dict(os.environ, BENCH_QUICK="1", BENCH_SECONDS="1", BENCH_IDLE_CONNS="50",
               BENCH_OUT=str(tmp_path / "out"), JERN_BIN=str(fake))
    r = subprocess.run([str(ROOT / "bench" / "run.sh")], env=env, capture_output=True,
                       text=True, timeout=240)
    assert r.returncode == 1, r.stdout[-2000:] + r.stderr[-2000:]
    assert "broken on purpose" in r.stderr
    md = (tmp_path / "out" / "latest.md").read_text()
    assert "FAILED TO RUN: jern: did not come up: exited with status 1" in md
    assert re.search(r"^\| -c50 \| nginx \| [0-9]+ \|", md, re.M)  # the others still ran


def test_unix_bench_runs_every_proxy_over_both_transports(tmp_path):
    """bench/unix.sh in smoke mode: each proxy with TCP and with unix-socket
    upstreams (the backends' sockets reachable by nginx's unprivileged
    workers), a row each and the ratios; nothing about speed."""
    for tool in ("nginx", "haproxy", "wrk"):
        if not have(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            pytest.skip(f"{tool} not installed (scripts/install-deps.sh installs it)")
    env = dict(os.environ, BENCH_QUICK="1", BENCH_SECONDS="1", BENCH_OUT=str(tmp_path),
               JERN_BIN=JERN)
    r = subprocess.run([str(ROOT / "bench" / "unix.sh")], env=env, capture_output=True,
                       text=True, timeout=180)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    md = (tmp_path / "unix.md").read_text()
    for proxy in ("nginx", "haproxy", "jern"):
        for t in ("tcp", "unix"):
            assert re.search(rf"^\| {proxy} \| {t} \| [0-9]+ ", md, re.M), md
    assert "jern unix / nginx unix: " in md and "did not run" not in md, md
    rows = json.loads((tmp_path / "unix.json").read_text())["rows"]
    assert len(rows) == 6 and all(x["errors"] == 0 for x in rows), rows


def test_syscalls_bench_times_all_three_ways():
    """bench/syscalls.sh, tiny: builds with liburing, times send/recv system
    calls against io_uring's batched submission on loopback pairs and prints
    every figure; nothing about which is faster."""
    if not os.path.exists("/usr/include/liburing.h"):
        pytest.skip("liburing-dev not installed (scripts/install-deps.sh installs it)")
    r = subprocess.run([str(ROOT / "bench" / "syscalls.sh"), "4", "200"], capture_output=True,
                       text=True, timeout=120)
    if "io_uring unavailable" in r.stderr:
        pytest.skip(r.stderr.strip())
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for way in ("syscalls", "uring-send", "uring-both"):
        m = re.search(rf"^  {way} +([0-9.]+) us per message", r.stdout, re.M)
        assert m and float(m.group(1)) > 0, r.stdout
    assert re.search(r"getppid\(2\), entry and exit alone: [0-9.]+ us", r.stdout), r.stdout
    assert "saved per system call replaced by a batched submission" in r.stdout, r.stdout
