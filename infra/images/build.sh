#!/usr/bin/env bash
# make images: OCI images of the proxy and the worker for linux/amd64 and
# linux/arm64, built without a Docker daemon and without any image registry
# but a throwaway one on loopback.
#
#   1. Tools, pinned, from the Go module proxy, cached in infra/.tools/images
#      (git-ignored; INFRA_TOOLS_DIR moves infra/.tools): ko and crane.
#   2. A tiny base image, assembled here with crane on an empty OCI base:
#      /etc/passwd and /etc/group with uid/gid 65532 "nonroot", the CA bundle
#      of this machine (/etc/ssl/certs/ca-certificates.crt, from Debian's
#      ca-certificates package, copied at build time: the images trust what
#      the build machine trusts on the day of the build), and /tmp (1777).
#      User 65532:65532. The proxy's base also sets HTTP_ADDR=0.0.0.0:8080
#      and exposes 8080, as the Dockerfile's proxy target does. Pushed to an in-memory
#      `crane registry serve` on 127.0.0.1 that lives as long as this script.
#   3. ko builds each binary (CGO off, -trimpath, -s -w) for both platforms on
#      that base and writes an OCI layout (an index of two images).
#
# Output, under build/images/ (IMAGES_DIR moves it):
#   proxy/, worker/           OCI image layouts (tag "latest")
#   proxy.oci.tar, worker.oci.tar
#                             the same as OCI archives (a layout in a tar)
#   digests.txt               image index digests
# A layout pushes as it is, both platforms under the digest in digests.txt:
#   infra/.tools/images/bin/crane push build/images/proxy REGISTRY/REPO:TAG
# Nothing in the images writes to the root filesystem: they run with a
# read-only root (make test-images checks it).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export GOTOOLCHAIN=go1.27.3

KO_VERSION=v0.19.1
CRANE_VERSION=v0.22.1
PLATFORMS=(linux/amd64 linux/arm64)
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

TOOLS=${INFRA_TOOLS_DIR:-$ROOT/infra/.tools}/images
BIN=$TOOLS/bin
OUT=${IMAGES_DIR:-$ROOT/build/images}

step() { echo "==> images: $*"; }
die() { echo "images: $*" >&2; exit 1; }

command -v go >/dev/null || die "Go is needed (any version: it fetches go1.27.3 itself). Debian: apt-get install golang-go"
if ! command -v jq >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		step "installing jq (apt-get install jq)"
		apt-get install -y -qq jq >/dev/null || { apt-get update -qq && apt-get install -y -qq jq >/dev/null; }
	fi
	command -v jq >/dev/null || die "jq is needed. Debian: apt-get install jq"
fi
[ -s "$CA_BUNDLE" ] || die "$CA_BUNDLE is missing: the images take this machine's CA bundle. Debian: apt-get install ca-certificates"

# ---- 1. tools ----
# shellcheck source=SCRIPTDIR/../scripts/gotool.sh
. "$ROOT/infra/scripts/gotool.sh" # install_tool
install_tool ko github.com/google/ko "$KO_VERSION"
install_tool crane github.com/google/go-containerregistry/cmd/crane "$CRANE_VERSION"
crane() { "$BIN/crane" "$@"; }

WORK=$(mktemp -d)
REGISTRY_PID=
cleanup() {
	if [ -n "$REGISTRY_PID" ]; then kill "$REGISTRY_PID" 2>/dev/null || true; wait "$REGISTRY_PID" 2>/dev/null || true; fi
	rm -rf "$WORK" "${STAGE:-}"
}
trap cleanup EXIT

# ---- 2. the base image ----
step "base image (uid 65532, CA bundle from $CA_BUNDLE, /tmp)"
# Started directly, not through the crane function, so that $! is the server
# itself and the EXIT trap stops it.
"$BIN/crane" registry serve --address 127.0.0.1:0 >"$WORK/registry.log" 2>&1 &
REGISTRY_PID=$!
port=
for _ in $(seq 100); do
	port=$(sed -n 's/.*serving on port \([0-9][0-9]*\).*/\1/p' "$WORK/registry.log" | head -1)
	[ -n "$port" ] && break
	kill -0 "$REGISTRY_PID" 2>/dev/null || { cat "$WORK/registry.log" >&2; die "the loopback registry did not start"; }
	sleep 0.1
done
[ -n "$port" ] || die "the loopback registry did not say its port"
REG=127.0.0.1:$port

root=$WORK/rootfs
mkdir -p "$root/etc/ssl/certs" "$root/tmp"
chmod 1777 "$root/tmp"
printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$root/etc/passwd"
printf '%s\n' 'root:x:0:' 'nonroot:x:65532:' >"$root/etc/group"
install -m 0644 "$CA_BUNDLE" "$root/etc/ssl/certs/ca-certificates.crt"
# The RDS CAs, for PGSSLMODE=verify-full (PGSSLROOTCERT points here; see
# rds-ca.sh beside this script for where they come from).
install -m 0644 "$(dirname "${BASH_SOURCE[0]}")/rds-global-bundle.pem" "$root/etc/ssl/certs/rds-global-bundle.pem"
chmod 0755 "$root/etc" "$root/etc/ssl" "$root/etc/ssl/certs"
chmod 0644 "$root/etc/passwd" "$root/etc/group"
# Owned by root, fixed times and order: the same inputs give the same layer.
tar --create --file "$WORK/base.tar" --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 -C "$root" etc tmp

q() { "$@" >/dev/null 2>"$WORK/crane.log" || { cat "$WORK/crane.log" >&2; die "failed: $*"; }; }
q crane append --oci-empty-base -f "$WORK/base.tar" -t "$REG/base:layer"
for kind in base proxy-base; do
	refs=()
	for p in "${PLATFORMS[@]}"; do
		arch=${p#*/}
		extra=()
		if [ "$kind" = proxy-base ]; then extra=(--env HTTP_ADDR=0.0.0.0:8080 --exposed-ports 8080/tcp); fi
		q crane mutate "$REG/base:layer" --set-platform "$p" --user 65532:65532 --workdir / "${extra[@]}" -t "$REG/$kind:$arch"
		refs+=(-m "$REG/$kind:$arch")
	done
	q crane index append "${refs[@]}" -t "$REG/$kind:latest"
done
# ko takes the bases from its cache (KOCACHE/img, an OCI layout, looked up by
# digest), seeded here, so they are named by what they are (the name goes into
# each image's base.name annotation, and so into its digest) and not by the
# random port of the registry they were assembled in. The .invalid name says
# that they are pulled from nowhere.
export KOCACHE=$WORK/kocache
BASE=numbers.invalid/base@$(crane digest "$REG/base:latest")
PROXY_BASE=numbers.invalid/proxy-base@$(crane digest "$REG/proxy-base:latest")
# ko looks up each platform's image in the cache's top index too, so seed
# those as well as the index.
for kind in base proxy-base; do
	q crane pull --format=oci "$REG/$kind:latest" "$KOCACHE/img"
	for p in "${PLATFORMS[@]}"; do
		q crane pull --format=oci "$REG/$kind:${p#*/}" "$KOCACHE/img"
	done
done

# ---- 3. ko ----
cat >"$WORK/ko.yaml" <<EOF
defaultBaseImage: $BASE
baseImageOverrides:
  github.com/numbers-app/numbers/proxy: $PROXY_BASE
defaultPlatforms: [$(IFS=,; echo "${PLATFORMS[*]}")]
builds:
  - id: proxy
    main: ./proxy
    env: [CGO_ENABLED=0]
    flags: [-trimpath]
    ldflags: [-s, -w]
  - id: worker
    main: ./worker
    env: [CGO_ENABLED=0]
    flags: [-trimpath]
    ldflags: [-s, -w]
EOF
labels=(--image-label org.opencontainers.image.source=https://github.com/numbers-app/numbers)
if rev=$(git rev-parse HEAD 2>/dev/null); then labels+=(--image-label "org.opencontainers.image.revision=$rev"); fi

# ko names what it saved by the layout's path, and refuses a path that is not
# a valid repository name (upper case, for one): it writes to a relative,
# lower-case staging directory, moved to OUT afterwards.
STAGE=build/.images-stage-$$
rm -rf "$STAGE"
mkdir -p "$STAGE" "$OUT"
for app in proxy worker; do
	step "ko build $app (${PLATFORMS[*]})"
	KO_CONFIG_PATH=$WORK/ko.yaml KO_DOCKER_REPO=numbers/$app \
		"$BIN/ko" build --bare --push=false --sbom=none "${labels[@]}" \
		--oci-layout-path="$STAGE/$app" "./$app" >"$WORK/$app.ref"
	# Name the index "latest" so that oci:build/images/APP:latest resolves.
	jq '.manifests[0].annotations["org.opencontainers.image.ref.name"] = "latest"' "$STAGE/$app/index.json" >"$WORK/index.json"
	cp "$WORK/index.json" "$STAGE/$app/index.json"
	tar --create --file "$STAGE/$app.oci.tar" --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 -C "$STAGE/$app" .
	echo "$app $(jq -r '.manifests[0].digest' "$STAGE/$app/index.json")" >>"$STAGE/digests.txt"
done
for app in proxy worker; do
	rm -rf "${OUT:?}/$app" "$OUT/$app.oci.tar"
	mv "$STAGE/$app" "$STAGE/$app.oci.tar" "$OUT/"
done
mv "$STAGE/digests.txt" "$OUT/digests.txt"
rmdir "$STAGE"
step "done: OCI layouts and archives in ${OUT#"$ROOT"/}/"
cat "$OUT/digests.txt"
