#!/bin/sh
# Regenerates the image's locks from pyproject.toml, with hashes, for every platform (--universal)
# on Python 3.11. Run after changing [project] dependencies; pass --upgrade to move pins forward.
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
