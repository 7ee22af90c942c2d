#!/usr/bin/env bash
# P2C vs least_conn p99 under a 50 ms skew (bench/skew.py).
exec /usr/bin/python3 "$(dirname "$0")/skew.py" "$@"
