"""The notification catalogue's published files: ``python -m dev.notification_schemas`` (``make schemas``).

One JSON Schema per event type under ``docs/notifications/schemas/<type>.json`` and the catalogue
table in ``docs/notifications.md`` (between its markers), all generated from
``domain.notification_catalogue``. ``--check`` writes nothing and exits 1 when a committed file
differs (``tests/unit/test_notification_catalogue.py`` runs the same comparison).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from domain.notification_catalogue import (
    SCHEMA_DIRECTORY,
    TABLE_BEGIN,
    TABLE_END,
    all_schemas,
    catalogue_table,
)

ROOT = Path(__file__).resolve().parents[1]
DOC = "docs/notifications.md"


def render_schema(schema: dict[str, object]) -> str:
    """A schema file's exact text: stable key order as generated, two-space indent, final newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def with_table(doc: str) -> str:
    """``doc`` with the text between the table's markers replaced by the generated table."""
    begin, end = doc.index(TABLE_BEGIN) + len(TABLE_BEGIN), doc.index(TABLE_END)
    return doc[:begin] + "\n" + catalogue_table() + doc[end:]


def expected_files(root: Path = ROOT) -> dict[Path, str]:
    """Every generated file's path and text (the doc from its committed text, the table replaced)."""
    files = {root / SCHEMA_DIRECTORY / name: render_schema(schema) for name, schema in all_schemas().items()}
    doc = root / DOC
    files[doc] = with_table(doc.read_text(encoding="utf-8"))
    return files


def stale_files(root: Path = ROOT) -> list[Path]:
    """Generated files that are missing or differ, and schema files no event type has any more."""
    expected = expected_files(root)
    stale = [
        path
        for path, text in expected.items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    extra = sorted(set((root / SCHEMA_DIRECTORY).glob("*.json")) - set(expected))
    return stale + extra


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dev.notification_schemas", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--check", action="store_true", help="only report stale files (exit 1)")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for path in stale:
            sys.stderr.write(f"stale: {path.relative_to(ROOT)} (run make schemas)\n")
        return 1 if stale else 0
    (ROOT / SCHEMA_DIRECTORY).mkdir(parents=True, exist_ok=True)
    expected = expected_files()
    for path in sorted(set((ROOT / SCHEMA_DIRECTORY).glob("*.json")) - set(expected)):
        path.unlink()
    for path, text in expected.items():
        path.write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote {len(expected)} files\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
