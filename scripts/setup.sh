#!/usr/bin/env bash
# What `make demo` and `make test` need before they run, done only where it is missing:
#   1. a Docker engine that answers: on a Debian/Ubuntu host where we can act as root, install
#      and start one (scripts/provision-host.sh); elsewhere, one line naming what to start, exit 2
#   2. the compose v2 plugin: installed for everyone (not in root's $HOME) by the same script
#   3. base images: one bounded pull of the pinned Traefik says whether a registry answers; if
#      none does, build the offline images (scripts/build-offline-images.sh). The answer is kept
#      in .env (untracked; compose reads it), so the check runs once per checkout.
# Idempotent and quiet when everything is there. Users with Docker Desktop or Engine and a
# registry see three "ok" lines.
set -euo pipefail
cd "$(dirname "$0")/.."

ENV_FILE="${ENV_FILE:-.env}"
PULL_CHECK_IMAGE="${PULL_CHECK_IMAGE:-traefik:v3.7.15}"  # the compose file's default Traefik
PULL_CHECK_SECONDS="${PULL_CHECK_SECONDS:-60}"

say() { printf 'setup: %s\n' "$*"; }
engine_answers() { timeout 10 docker info >/dev/null 2>&1; }
can_be_root() { [ "$(id -u)" = 0 ] || sudo -n true 2>/dev/null; }
env_value() { grep -E "^$1=" "$ENV_FILE" 2>/dev/null | tail -n 1 | cut -d= -f2- || true; }

if ! command -v docker >/dev/null 2>&1 || ! engine_answers || ! docker compose version >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && can_be_root; then
    say "no Docker engine or compose plugin answering: installing and starting them (Debian packages)"
    bash scripts/provision-host.sh
  elif ! command -v docker >/dev/null 2>&1 || ! engine_answers; then
    say "no Docker engine answers: start Docker Desktop (or your engine: sudo systemctl start docker), then run this again"
    exit 2
  else
    say "no compose v2 plugin (docker compose): install Docker Compose v2, then run this again"
    exit 2
  fi
fi
say "ok: Docker $(docker version --format '{{.Server.Version}}' 2>/dev/null), compose $(docker compose version --short)"

registry="$(env_value ZERODROP_REGISTRY)"
if [ -n "$(env_value PYTHON_IMAGE)" ] && [ -n "$(env_value TRAEFIK_IMAGE)" ]; then
  if [ -z "$registry" ]; then  # offline images named but no answer recorded: record it, once
    registry=no
    printf 'ZERODROP_REGISTRY=%s\n' "$registry" >>"$ENV_FILE"
  fi
elif [ -z "$registry" ]; then
  say "checking once whether images can be pulled (docker pull $PULL_CHECK_IMAGE, at most ${PULL_CHECK_SECONDS}s)"
  if timeout "$PULL_CHECK_SECONDS" docker pull -q "$PULL_CHECK_IMAGE" >/dev/null 2>&1; then
    registry=yes
  else
    registry=no
  fi
  printf 'ZERODROP_REGISTRY=%s\n' "$registry" >>"$ENV_FILE"
fi
if [ "$registry" = no ]; then
  bash scripts/build-offline-images.sh
  say "ok: no registry here; the offline base images are built and named in $ENV_FILE"
else
  say "ok: images come from the registry"
fi
