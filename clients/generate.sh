#!/usr/bin/env bash
# The typed Python client from the committed contract: clients/generate.sh OUTPUT_DIR
# (`make client` writes clients/python/; tests/unit/test_generated_client_tree.py regenerates into a
# temporary directory and compares). Reads openapi.json from the repository: nothing from the network.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
codegen="$root/.venv/codegen"
# The post-hooks (clients/codegen.yaml) run `ruff` from PATH: the one in the generator's own venv.
# --fail-on-warning: a hook that could not run, or a schema the generator could not express, fails.
PATH="$codegen/bin:$PATH" "$codegen/bin/openapi-python-client" generate \
  --path "$root/openapi.json" \
  --config "$root/clients/codegen.yaml" \
  --meta uv \
  --output-path "$1" \
  --overwrite \
  --fail-on-warning
