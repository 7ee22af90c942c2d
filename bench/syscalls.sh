#!/usr/bin/env bash
# What a system call costs on this machine and what io_uring's batched
# submission saves of it (bench/syscalls.c says how). Run by `make bench`.
#
#   bench/syscalls.sh [PAIRS [ROUNDS]]        defaults 50 and 4000
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
make -s -C "$root" build/bench-syscalls
bin=$root/build/bench-syscalls
echo "# System calls and io_uring, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) CPUs, kernel $(uname -r); load average $(cut -d' ' -f1 /proc/loadavg) before"
"$bin" "$@"
