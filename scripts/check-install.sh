#!/usr/bin/env bash
# The tool as a user installs it: `pipx install .` into a throwaway PIPX_HOME, then the installed
# `zerodrop --help`, `--version` and the docker plugin's metadata answer. Needs PyPI, no Docker.
set -euo pipefail
cd "$(dirname "$0")/.."
PIPX_VERSION=1.18.4  # pinned: the installer whose behaviour this check stands for
work=$(mktemp -d /tmp/zerodrop-install.XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/pipx-venv"
"$work/pipx-venv/bin/pip" install --quiet --disable-pip-version-check "pipx==$PIPX_VERSION"
export PIPX_HOME="$work/pipx" PIPX_BIN_DIR="$work/bin" PIPX_MAN_DIR="$work/man"
# From a copy of what the package is made of: a build leaves build/ and *.egg-info behind.
mkdir "$work/src" && cp -r pyproject.toml README.md zerodrop "$work/src/"
"$work/pipx-venv/bin/pipx" install --quiet "$work/src" >/dev/null
help=$("$work/bin/zerodrop" --help)
echo "${help%%$'\n'*}"
"$work/bin/zerodrop" rollout --help >/dev/null
version=$("$work/bin/zerodrop" --version)
HOME="$work/home" DOCKER_CONFIG="$work/home/.docker" "$work/bin/zerodrop" install-plugin >/dev/null
metadata=$("$work/home/.docker/cli-plugins/docker-zerodrop" docker-cli-plugin-metadata)
echo "$metadata" | python3 -c 'import json, sys; assert json.load(sys.stdin)["SchemaVersion"] == "0.1.0"'
echo "check-install: pipx install . gives $version; zerodrop --help and the docker plugin's metadata answer"
