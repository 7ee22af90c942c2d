#!/usr/bin/env bash
# make bench, TLS part: nginx, HAProxy and jern terminating TLS side by side
# (bench/tls.py: settings and output documented there).
exec /usr/bin/python3 "$(dirname "$0")/tls.py" "$@"
