#!/bin/sh
# Regenerates every lock from pyproject.toml, with hashes, for every platform (--universal) on
# Python 3.11: the image's (deploy/requirements.lock, deploy/build-requirements.lock) and the
# development environment's (requirements-dev.lock: runtime + the dev extra + the build backend,
# which `make venv` installs). Run after changing [project] dependencies or the dev extra; pass
# --upgrade to move pins forward.
#   deploy/lock.sh [--upgrade]
set -eu
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9
[ -x .venv/bin/uv ] && .venv/bin/uv --version | grep -q " $UV_VERSION" \
  || .venv/bin/python -m pip install --quiet "uv==$UV_VERSION"
compile() {
  .venv/bin/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
    --custom-compile-command "deploy/lock.sh" "$@"
}
compile pyproject.toml -o deploy/requirements.lock "$@"
compile deploy/build-requirements.in -o deploy/build-requirements.lock "$@"
# Constrained by the image's locks, just written: tests run the versions the image ships.
compile pyproject.toml --extra dev deploy/build-requirements.in \
  -c deploy/requirements.lock -c deploy/build-requirements.lock -o requirements-dev.lock "$@"
# The API client generator's own environment (make client): a tool, not a dependency of the service.
compile clients/codegen.in -o clients/codegen.lock "$@"
