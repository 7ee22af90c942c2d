#!/usr/bin/env bash
# Syscalls per request and a flat CPU profile of one proxy under the bench's
# load: bench/profile.sh nginx|haproxy|jern [SECONDS [CONNECTIONS]]. See bench/profile.py.
exec /usr/bin/python3 "$(dirname "$0")/profile.py" "$@"
