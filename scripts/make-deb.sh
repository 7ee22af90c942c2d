#!/usr/bin/env bash
# Builds the Debian package of jern with dpkg-deb: the binary, the systemd
# unit, the default config (a conffile) and the man page docs/jern.1 when it
# exists (gzipped). Installable with `apt install ./jern_VERSION_ARCH.deb`.
#
#   scripts/make-deb.sh BUILD_DIR OUT_DIR     (make deb runs it)
#
# Depends: is computed from the binary's NEEDED libraries (dpkg -S), so it
# names the packages this machine built against.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${1:?usage: scripts/make-deb.sh BUILD_DIR OUT_DIR}
OUT=${2:?usage: scripts/make-deb.sh BUILD_DIR OUT_DIR}
BIN=$BUILD/jern
[ -x "$BIN" ] || { echo "make-deb: $BIN not found (run make first)" >&2; exit 1; }

VERSION=$(sed -n 's/^#define JERN_VERSION "\(.*\)"/\1/p' src/cli/commands.c)
ARCH=$(dpkg --print-architecture)
STAGE=$BUILD/deb/jern_${VERSION}_${ARCH}
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$OUT"

make -s install BUILD="$BUILD" DESTDIR="$STAGE" PREFIX=/usr SYSCONFDIR=/etc \
    UNITDIR=/lib/systemd/system INSTALL_BUILD=0 MANPAGE="${MANPAGE:-docs/jern.1}"
if [ -f "$STAGE/usr/share/man/man1/jern.1" ]; then
    gzip -9n "$STAGE/usr/share/man/man1/jern.1"
fi
mkdir -p "$STAGE/usr/share/doc/jern"
cp README.md "$STAGE/usr/share/doc/jern/README.md"

# The packages that hold the libraries the binary links: one dpkg -S for all
# of them (each call reads dpkg's whole file list).
paths=()
for lib in $(objdump -p "$BIN" | awk '/NEEDED/ {print $2}'); do
    path=$(ldconfig -p | awk -v l="$lib" '$1 == l && !p {p = $NF} END {print p}')
    [ -n "$path" ] && paths+=("$path" "$(readlink -f "$path")")
done
mapfile -t deps < <(dpkg -S "${paths[@]}" 2>/dev/null | awk -F: '{print $1}')
DEPENDS=$(printf '%s\n' "${deps[@]}" | sort -u | paste -sd, | sed 's/,/, /g')

SIZE=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
cat >"$STAGE/DEBIAN/control" <<CONTROL
Package: jern
Version: $VERSION
Architecture: $ARCH
Maintainer: jern <jern@localhost>
Installed-Size: $SIZE
Depends: $DEPENDS, adduser
Recommends: podman, mariadb-server, mariadb-backup, openssl
Section: net
Priority: optional
Homepage: https://github.com/jern/jern
Description: serverless on your own iron
 One binary: an HTTP/1.1 and HTTP/2 reverse proxy that reads nginx's
 config syntax, and a control plane that deploys apps as containers or
 processes, scales them to zero, manages MariaDB databases and TLS
 certificates, and converges a jern.yaml (jern plan / jern apply).
CONTROL
echo /etc/jern/jern.conf >"$STAGE/DEBIAN/conffiles"

cat >"$STAGE/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    # exec apps run as this unprivileged user when jern runs as root
    if ! getent passwd jern-app >/dev/null; then
        adduser --system --group --home /var/lib/jern-app --shell /usr/sbin/nologin \
            --quiet jern-app
    fi
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload || true
        systemctl enable jern.service >/dev/null || true
        systemctl restart jern.service || true
    fi
fi
exit 0
POSTINST
cat >"$STAGE/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
    systemctl stop jern.service || true
    systemctl disable jern.service >/dev/null || true
fi
exit 0
PRERM
cat >"$STAGE/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
fi
if [ "$1" = purge ]; then
    rm -rf /var/lib/jern
fi
exit 0
POSTRM
chmod 0755 "$STAGE/DEBIAN/postinst" "$STAGE/DEBIAN/prerm" "$STAGE/DEBIAN/postrm"
(cd "$STAGE" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
    xargs -0 md5sum >DEBIAN/md5sums)

DEB=$OUT/jern_${VERSION}_${ARCH}.deb
dpkg-deb --root-owner-group -Zgzip --build "$STAGE" "$DEB" >/dev/null
echo "$DEB"
