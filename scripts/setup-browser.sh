#!/usr/bin/env bash
# The real browser the streams lab test drives: Chromium and its chromedriver. Only where they are
# missing, and only on a Debian/Ubuntu host where we can act as root (Debian's chromium and
# chromium-driver packages); elsewhere one line saying what to install, and the lab test that
# needs them fails naming them (it is never skipped). Idempotent and quiet when both are there.
#
# Knobs (environment): ZERODROP_CHROMIUM (default /usr/bin/chromium), ZERODROP_CHROMEDRIVER
# (default /usr/bin/chromedriver).
set -euo pipefail

CHROMIUM="${ZERODROP_CHROMIUM:-/usr/bin/chromium}"
CHROMEDRIVER="${ZERODROP_CHROMEDRIVER:-/usr/bin/chromedriver}"

say() { printf 'setup-browser: %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
can_be_root() { [ "$(id -u)" = 0 ] || sudo -n true 2>/dev/null; }

if [ -x "$CHROMIUM" ] && [ -x "$CHROMEDRIVER" ]; then
  say "ok: $("$CHROMIUM" --version 2>/dev/null | head -n 1), chromedriver at $CHROMEDRIVER"
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && can_be_root; then
  say "installing Chromium and its chromedriver (Debian packages chromium, chromium-driver)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium chromium-driver >/dev/null
  say "ok: $("$CHROMIUM" --version 2>/dev/null | head -n 1)"
else
  say "no Chromium at $CHROMIUM or chromedriver at $CHROMEDRIVER: install both (or set ZERODROP_CHROMIUM and ZERODROP_CHROMEDRIVER); the browser lab test needs them"
fi
