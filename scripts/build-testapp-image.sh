#!/usr/bin/env bash
# Builds the test app image: FROM scratch + build/jern-testapp-static, tagged
# localhost/jern-testapp:TAG, with APP_VERSION=TAG baked in (so "/" answers
# "hello from NAME TAG"). Builds the static binary first when it is missing.
#
#   scripts/build-testapp-image.sh TAG [IMAGE]    IMAGE defaults to localhost/jern-testapp
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 TAG [IMAGE]" >&2
    exit 2
fi
tag=$1
image=${2:-localhost/jern-testapp}
if ! [[ "$tag" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]]; then
    echo "$0: '$tag' is not a valid image tag (letters, digits, _ . -, at most 128)" >&2
    exit 2
fi
if ! command -v podman >/dev/null; then
    echo "$0: podman is not installed (scripts/install-deps.sh installs it)" >&2
    exit 1
fi
root=$(cd "$(dirname "$0")/.." && pwd)
make -s -C "$root" build/jern-testapp-static >/dev/null

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "$root/build/jern-testapp-static" "$ctx/jern-testapp"
cat >"$ctx/Containerfile" <<CF
FROM scratch
COPY jern-testapp /jern-testapp
ENV APP_VERSION=$tag APP_NAME=testapp PORT=8080
EXPOSE 8080
CMD ["/jern-testapp"]
CF
podman build -q -t "$image:$tag" -f "$ctx/Containerfile" "$ctx" >/dev/null
podman image inspect --format '{{.Id}}' "$image:$tag"
