#!/usr/bin/env bash
# Regenerate the hash-pinned lock files from what we ask for by name: requirements-lab.in ->
# requirements-lab.txt, requirements-dev.in -> requirements-dev.txt (constrained by the lab's, so
# the two agree). `make venv` installs them with --require-hashes: every package, direct or
# indirect, is the exact file it was when locked. Run after editing an .in file; needs PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
PIP_TOOLS_VERSION=7.7.0  # pinned: the resolver whose output the lock files are
work=$(mktemp -d /tmp/zerodrop-lock.XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "pip-tools==$PIP_TOOLS_VERSION" 2>&1 \
  | grep -v '^WARNING: Location' || true
for name in lab dev; do
  {
    echo "# The lock of requirements-$name.in, every package with its hashes: edit the .in file, then"
    echo "# run scripts/lock-requirements.sh (pip-tools $PIP_TOOLS_VERSION). make venv installs it with --require-hashes."
    "$work/venv/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras --no-header --no-emit-index-url --no-emit-find-links \
      --output-file - "requirements-$name.in" 2>"$work/$name.log" || { cat "$work/$name.log" >&2; exit 1; }
  } >"$work/$name.txt"
  mv "$work/$name.txt" "requirements-$name.txt"
  echo "lock: requirements-$name.txt, $(grep -c '==' "requirements-$name.txt") packages"
done
