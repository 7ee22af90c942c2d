#!/usr/bin/env bash
# make bench: nginx, HAProxy and jern side by side on this machine (issue 4).
# The harness is Python (bench/bench.py: settings and output documented there);
# Debian's interpreter, as the integration tests use.
exec /usr/bin/python3 "$(dirname "$0")/bench.py" "$@"
