#!/usr/bin/env bash
# make bench, HTTP/2 part: nginx, HAProxy and jern with h2 over TLS side by
# side (bench/h2.py: settings and output documented there).
exec /usr/bin/python3 "$(dirname "$0")/h2.py" "$@"
