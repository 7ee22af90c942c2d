#!/usr/bin/env bash
# Installs the Debian 12 packages that building, testing, the demo and the
# benchmarks need. Idempotent: installs only what is missing, and runs
# `apt-get update` once, only then. No downloads from anywhere but Debian.
set -euo pipefail

PACKAGES=(
    # build
    gcc make pkg-config libsqlite3-dev libcurl4-openssl-dev libcjson-dev libssl-dev libnghttp2-dev
    # regular expressions in locations and server names (PCRE2, as nginx)
    libpcre2-dev
    # the gateway's batched sends (src/gateway/batch_send.c) and bench/syscalls.sh
    liburing-dev
    # jern.yaml (src/apply): libyaml
    libyaml-dev
    # tests: certificates are made with the openssl command at test time
    openssl
    # the dashboard's assets (uPlot from npm, ui/package-lock.json); npm below
    nodejs
    # tests
    libcmocka-dev python3-pytest python3-requests python3-websocket curl
    # jern node add (the OpenSSH client) and its tests (a real sshd on loopback);
    # make deb (dpkg-deb, objdump)
    openssh-client openssh-server dpkg-dev binutils
    # TLS and certificates: OpenSSL 3, the ACME test CA, expired test certificates
    libssl-dev openssl pebble python3-cryptography
    clang libclang-rt-14-dev procps
    # browser tests of the dashboard (playwright-core from npm drives it)
    chromium
    # real peers: benchmarks, containers, a private registry
    nginx haproxy wrk
    # HTTP/2 clients for tests and benchmarks (nghttp, h2load)
    nghttp2-client
    podman runc docker-registry apache2-utils
    # a shell in the test image of jern run / jern logs on containers (FROM scratch)
    busybox-static
    # the cluster state (docs/CLUSTER.md): etcd v3, spoken to over its JSON gateway
    etcd-server etcd-client
    # deploy --build DIR --ref REF (git archive, git rev-parse); tar for a plain directory
    git tar
    # databases (src/db, docs/DATABASES.md): the server, client, backup tool,
    # the C client library, the Python test app's driver, the benchmark
    mariadb-server mariadb-client mariadb-backup libmariadb-dev python3 python3-pymysql sysbench
    # the manual page (docs/jern.1, rendered by the tests with man -l), the
    # README replay's network namespace (unshare, ip)
    man-db groff-base util-linux iproute2
    # profiling (bench/profile.sh, bench/syscalls.sh)
    strace linux-perf
)

# When jern runs as root, exec apps run as this unprivileged user instead
# (docs/RUNTIME.md). Made once; later runs leave it alone.
if [ "$(id -u)" -eq 0 ]; then
    if ! getent passwd jern-app >/dev/null; then
        useradd --system --user-group --home-dir /var/lib/jern-app --create-home \
            --shell /usr/sbin/nologin jern-app
        echo "jern: created the system user jern-app (exec apps run as it)"
    fi
elif ! getent passwd jern-app >/dev/null; then
    echo "jern: note: no user jern-app; a jern running as root needs it for exec apps" >&2
    echo "jern: (as root: useradd --system --user-group --home-dir /var/lib/jern-app" \
        "--create-home --shell /usr/sbin/nologin jern-app)" >&2
fi

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

# Debian's npm, unless an npm came with another build of nodejs already.
if ! command -v npm >/dev/null 2>&1; then
    missing+=(npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "jern: missing Debian packages: ${missing[*]}" >&2
    echo "jern: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi

echo "jern: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Debian's service scripts must not start nginx, mariadb or etcd on install:
# jern's tests start their own instances on loopback ports.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    trap 'rm -f "$policy"' EXIT
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}"
