#!/usr/bin/env bash
# The Debian trixie base that images built from Debian's packages start FROM (the Swarm node
# image, the conformance matrix's nginx, Node.js and Go build). Where a registry answers it is
# debian:trixie-slim and nothing is built; where none does (ZERODROP_REGISTRY=no in .env, written
# by scripts/setup.sh), a trixie root is debootstrapped and imported once, and named in .env as
# DEBIAN_IMAGE. Prints the image to use on its last line. Idempotent (FORCE=1 rebuilds).
#
# Knobs (environment): OFFLINE_TRIXIE_IMAGE (default zerodrop/debian-base:trixie), DEBIAN_MIRROR.
set -euo pipefail
cd "$(dirname "$0")/.."

OFFLINE_TRIXIE_IMAGE="${OFFLINE_TRIXIE_IMAGE:-zerodrop/debian-base:trixie}"
ENV_FILE="${ENV_FILE:-.env}"

say() { printf 'debian-base: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
have_image() { [ "${FORCE:-0}" != 1 ] && docker image inspect "$1" >/dev/null 2>&1; }
env_value() { grep -E "^$1=" "$ENV_FILE" 2>/dev/null | tail -n 1 | cut -d= -f2- || true; }

if [ "$(env_value ZERODROP_REGISTRY)" != no ]; then
  echo debian:trixie-slim
  exit 0
fi
if ! have_image "$OFFLINE_TRIXIE_IMAGE"; then
  mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
  rootfs="$(mktemp -d /tmp/zerodrop-trixie.XXXXXX)"
  trap 'as_root rm -rf "$rootfs"' EXIT
  say "debootstrap trixie (minbase) into $rootfs from $mirror"
  as_root debootstrap --variant=minbase trixie "$rootfs" "$mirror" >/tmp/zerodrop-debootstrap-trixie.log 2>&1 \
    || { tail -n 20 /tmp/zerodrop-debootstrap-trixie.log >&2; exit 1; }
  as_root rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  say "importing $OFFLINE_TRIXIE_IMAGE"
  as_root tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' - "$OFFLINE_TRIXIE_IMAGE" >/dev/null
fi
if [ "$(env_value DEBIAN_IMAGE)" != "$OFFLINE_TRIXIE_IMAGE" ]; then
  tmp="$(mktemp)"
  grep -vE '^DEBIAN_IMAGE=' "$ENV_FILE" >"$tmp" 2>/dev/null || true
  { cat "$tmp"; echo "DEBIAN_IMAGE=$OFFLINE_TRIXIE_IMAGE"; } >"$ENV_FILE"
  rm -f "$tmp"
  say "wrote DEBIAN_IMAGE to $ENV_FILE"
fi
echo "$OFFLINE_TRIXIE_IMAGE"
