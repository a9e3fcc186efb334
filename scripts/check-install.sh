#!/usr/bin/env bash
# The tool as it would be published and installed: an sdist and a wheel built (`python -m build`)
# from what git tracks, both checked by `twine check --strict`, then the wheel installed with pipx
# into a throwaway PIPX_HOME, where `zerodrop --version`, `--help`, `zerodrop lint` on the example,
# and the docker plugin (`docker --context default zerodrop --version`) must answer.
# Needs PyPI (build, twine, pipx and the tool's dependencies), the docker client and compose
# plugin, no engine. Out: the checked files in dist/ (DIST_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
# Pinned: the builder, checker and installer whose behaviour this check stands for.
BUILD_VERSION=1.6.1
TWINE_VERSION=7.0.0
PIPX_VERSION=1.18.4
DIST_DIR="${DIST_DIR:-dist}"
work=$(mktemp -d /tmp/zerodrop-install.XXXXXX)
trap 'rm -rf "$work"' EXIT
pip_quiet=(--quiet --disable-pip-version-check)

python3 -m venv "$work/tools"
"$work/tools/bin/pip" install "${pip_quiet[@]}" "build==$BUILD_VERSION" "twine==$TWINE_VERSION" "pipx==$PIPX_VERSION"

# From what git tracks (or, outside a checkout, the files the package is made of): a build in
# the working tree leaves build/ and *.egg-info behind, and an untracked file must not ship.
mkdir "$work/src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z -- pyproject.toml LICENSE docs/package.md zerodrop | xargs -0 cp --parents -t "$work/src"
else
  cp -r --parents pyproject.toml LICENSE docs/package.md zerodrop "$work/src/"
fi
"$work/tools/bin/python" -m build --outdir "$work/dist" "$work/src" >"$work/build.log" 2>&1 \
  || { tail -n 30 "$work/build.log" >&2; exit 1; }
"$work/tools/bin/twine" check --strict "$work"/dist/* >"$work/twine.log" 2>&1 \
  || { grep -v '^WARNING: Location' "$work/twine.log" >&2; exit 1; }
wheel=$(ls "$work"/dist/*.whl)

export PIPX_HOME="$work/pipx" PIPX_BIN_DIR="$work/bin" PIPX_MAN_DIR="$work/man"
"$work/tools/bin/pipx" install --quiet "$wheel" >/dev/null
zd="$work/bin/zerodrop"
help=$("$zd" --help)
echo "${help%%$'\n'*}"
"$zd" rollout --help >/dev/null
version=$("$zd" --version)
# The example's own files, as a user would point it at theirs: no traps, exit 0.
(cd examples/own-service && "$zd" lint -f compose.yml -f compose.prod.yml)

# The docker plugin, reached through docker's own flags as a user types them.
export HOME="$work/home" DOCKER_CONFIG="$work/home/.docker"
"$zd" install-plugin >/dev/null
metadata=$("$DOCKER_CONFIG/cli-plugins/docker-zerodrop" docker-cli-plugin-metadata)
echo "$metadata" | python3 -c 'import json, sys; assert json.load(sys.stdin)["SchemaVersion"] == "0.1.0"'
plugin_version=$(docker --context default zerodrop --version)
[ "$plugin_version" = "$version" ] || { echo "check-install: docker zerodrop says '$plugin_version', not '$version'" >&2; exit 1; }

mkdir -p "$DIST_DIR" && cp "$work"/dist/* "$DIST_DIR/"
echo "check-install: $(cd "$work/dist" && echo *) built and twine-checked; pipx install of the wheel gives $version;"
echo "check-install: zerodrop lint on the example, the plugin's metadata and docker --context default zerodrop --version answer"
