#!/usr/bin/env bash
# User-space instructions per request of each proxy, counted by callgrind:
# bench/instr.sh [SECONDS [CONNECTIONS [PROXIES]]]. See bench/instr.py.
exec /usr/bin/python3 "$(dirname "$0")/instr.py" "$@"
