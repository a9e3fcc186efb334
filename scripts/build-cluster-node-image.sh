#!/usr/bin/env bash
# Build the Swarm node image `make cluster-up` runs three of (cluster-node/Dockerfile.node: Debian
# trixie's Docker Engine 26). Its base comes from scripts/build-debian-base.sh: debian:trixie-slim
# where a registry answers, a debootstrapped trixie where none does, passed as BASE_IMAGE: the
# Dockerfile stays the ordinary one.
# Idempotent: an image that exists is kept (FORCE=1 rebuilds).
#
# Knobs (environment): CLUSTER_NODE_IMAGE (default zerodrop/swarm-node:26.1), DEBIAN_MIRROR.
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER_NODE_IMAGE="${CLUSTER_NODE_IMAGE:-zerodrop/swarm-node:26.1}"

say() { printf 'cluster-image: %s\n' "$*"; }
have_image() { [ "${FORCE:-0}" != 1 ] && docker image inspect "$1" >/dev/null 2>&1; }

if have_image "$CLUSTER_NODE_IMAGE"; then
  say "$CLUSTER_NODE_IMAGE already built"
  exit 0
fi

base="$(bash scripts/build-debian-base.sh)"  # debian:trixie-slim, or the debootstrapped one offline
say "building $CLUSTER_NODE_IMAGE from $base (apt-get install docker.io docker-cli ...)"
DOCKER_BUILDKIT=0 docker build --quiet --build-arg "BASE_IMAGE=$base" \
  -f cluster-node/Dockerfile.node -t "$CLUSTER_NODE_IMAGE" cluster-node >/tmp/zerodrop-cluster-image.log 2>&1 \
  || { tail -n 30 /tmp/zerodrop-cluster-image.log >&2; exit 1; }
say "built $CLUSTER_NODE_IMAGE ($(docker image inspect -f '{{.Size}}' "$CLUSTER_NODE_IMAGE" | awk '{printf "%d MB", $1/1e6}'))"
