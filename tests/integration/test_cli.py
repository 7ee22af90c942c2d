"""The jern command line: version, help, unknown commands."""
import subprocess

from conftest import JERN


def run(*args):
    return subprocess.run([JERN, *args], capture_output=True, text=True, timeout=10)


def test_version():
    r = run("version")
    assert r.returncode == 0
    assert r.stdout.startswith("jern ")


def test_help_lists_commands():
    r = run("help")
    assert r.returncode == 0
    assert "\n  version " in r.stdout and "usage: jern COMMAND" in r.stdout


def test_unknown_command_names_it_and_the_fix():
    r = run("deplyo")
    assert r.returncode == 2
    assert "unknown command 'deplyo'" in r.stderr
    assert "jern help" in r.stderr


def test_no_arguments_prints_usage():
    r = run()
    assert r.returncode == 2
    assert "usage" in r.stdout
