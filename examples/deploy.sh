#!/usr/bin/env bash
# Deploy the example shop (examples/own-service) as a pipeline would: get the image, lint, roll,
# and fail the deploy on any exit status but 0. Copy it and change the names for your service.
#
#   SHOP_IMAGE=registry.example/shop:v2 examples/deploy.sh [compose flags, e.g. -p shop --env-file shop.env]
#
# SHOP_IMAGE is the image to deploy; the compose file names it as ${SHOP_IMAGE:-...}, so compose,
# zerodrop and a later `docker compose up -d` all agree on it. BUILD=1 builds it from shop/ first.
set -euo pipefail
cd "$(dirname "$0")/own-service"
: "${SHOP_IMAGE:?set SHOP_IMAGE to the image to deploy}"
export SHOP_IMAGE
files=(-f compose.yml -f compose.prod.yml "$@")

say() { printf 'deploy: %s\n' "$*" >&2; }

if [ "${BUILD:-0}" = 1 ]; then
  say "building $SHOP_IMAGE"
  docker build --quiet -t "$SHOP_IMAGE" ${BASE_IMAGE:+--build-arg "BASE_IMAGE=$BASE_IMAGE"} shop >/dev/null
fi

say "lint"
zerodrop lint "${files[@]}"

say "rolling api to $SHOP_IMAGE"
status=0
zerodrop rollout api "${files[@]}" --pull missing || status=$?
case $status in
  0) say "done: every replica runs $SHOP_IMAGE, nothing was cut" ;;
  1) say "FAILED: a step failed and its batch was undone; the replicas before it still serve" ;;
  2) say "FAILED: refused, nothing changed (bad input, or another rollout holds the lock)" ;;
  3) say "FAILED: $SHOP_IMAGE serves, but work was cut (see the CUT WORK lines)" ;;
  4) say "FAILED: $SHOP_IMAGE serves, but the last request through Traefik did not answer as declared" ;;
  5) say "FAILED: Docker or Traefik did not answer, nothing changed: try again" ;;
  *) say "FAILED: interrupted (exit $status); the current batch was undone" ;;
esac
exit "$status"
