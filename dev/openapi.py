"""The committed OpenAPI contract: ``python -m dev.openapi`` (``make openapi``) writes ``openapi.json``.

The file is what the app serves at ``/openapi.json``, so a change to the contract shows in review as
a diff of this file, and clients are generated from it (``make client``). Its text is stable: the
app's own key order (routes and fields as declared, which reads like the code), two-space indent,
non-ASCII kept as is, a final newline. ``tests/unit/test_openapi_file.py`` fails while it is stale.
"""

from __future__ import annotations

import json
from pathlib import Path

from api.app import create_app

ROOT = Path(__file__).resolve().parents[1]
OPENAPI_FILE = ROOT / "openapi.json"


def render_openapi() -> str:
    """The exact text of ``openapi.json``: the served document, formatted for review."""
    return json.dumps(create_app().openapi(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    OPENAPI_FILE.write_text(render_openapi(), encoding="utf-8")


if __name__ == "__main__":
    main()
