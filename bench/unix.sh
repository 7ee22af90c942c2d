#!/usr/bin/env bash
# Upstreams over unix sockets vs loopback TCP: jern, nginx and HAProxy side by
# side (bench/unix.py documents the settings and the output).
exec /usr/bin/python3 "$(dirname "$0")/unix.py" "$@"
