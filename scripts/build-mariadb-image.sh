#!/usr/bin/env bash
# Builds a MariaDB image from this machine's own MariaDB (Debian's mariadb-server):
# FROM scratch + /usr/sbin/mariadbd, the shared libraries ldd names, /usr/share/mysql
# (error messages, character sets) and a passwd/group naming root and mysql. No
# registry is needed. `jern db create NAME --image IMAGE` runs it (docs/DATABASES.md).
#
#   scripts/build-mariadb-image.sh TAG [IMAGE]    IMAGE defaults to localhost/jern-mariadb
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 TAG [IMAGE]" >&2
    exit 2
fi
tag=$1
image=${2:-localhost/jern-mariadb}
if ! [[ "$tag" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]]; then
    echo "$0: '$tag' is not a valid image tag (letters, digits, _ . -, at most 128)" >&2
    exit 2
fi
for cmd in podman mariadbd ldd; do
    if ! command -v "$cmd" >/dev/null; then
        echo "$0: $cmd is not installed (scripts/install-deps.sh installs podman and mariadb-server)" >&2
        exit 1
    fi
done
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
bin=$(command -v mariadbd)
mkdir -p "$ctx/root/usr/sbin" "$ctx/root/usr/share" "$ctx/root/etc" "$ctx/root/tmp"
chmod 1777 "$ctx/root/tmp"
cp "$bin" "$ctx/root/usr/sbin/mariadbd"
# Every library the server loads, at the path the loader looks for it.
ldd "$bin" | awk '/=> \//{print $3} /^\s*\/lib/{print $1}' | while read -r lib; do
    mkdir -p "$ctx/root$(dirname "$lib")"
    cp -L "$lib" "$ctx/root$lib"
done
cp -a /usr/share/mysql "$ctx/root/usr/share/mysql"
printf 'root:x:0:0:root:/root:/bin/sh\nmysql:x:100:101::/nonexistent:/bin/false\n' \
    >"$ctx/root/etc/passwd"
printf 'root:x:0:\nmysql:x:101:\n' >"$ctx/root/etc/group"
cat >"$ctx/Containerfile" <<'CF'
FROM scratch
COPY root/ /
ENV PATH=/usr/sbin:/usr/bin
CMD ["mariadbd"]
CF
podman build -q -t "$image:$tag" "$ctx" >/dev/null
echo "$image:$tag"
