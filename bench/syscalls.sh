#!/usr/bin/env bash
# What a system call costs on this machine and what io_uring's batched
# submission saves of it (bench/syscalls.c says how). Run by `make bench`.
#
#   bench/syscalls.sh [PAIRS [ROUNDS]]        defaults 50 and 4000
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/build/bench-syscalls
mkdir -p "$root/build"
if [ ! -x "$bin" ] || [ "$root/bench/syscalls.c" -nt "$bin" ]; then
    cc -std=gnu11 -O2 -Wall -Wextra -o "$bin" "$root/bench/syscalls.c" -luring
fi
echo "# System calls and io_uring, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) CPUs, kernel $(uname -r); load average $(cut -d' ' -f1 /proc/loadavg) before"
"$bin" "$@"
