"""The ``temporal`` and ``sessionflow`` commands the runbooks tell an operator to run.

Read from the fenced code blocks of ``deploy/runbooks/*.md``: a line whose first word is one of the
two programs (a ``\\`` continues it on the next line; ``#`` starts a comment, as in a shell).
``tests/deploy/test_runbooks.py`` checks every one against the program's ``--help``; the reset drill
(``tests/workflows/test_runbook_reset.py``) runs those of its runbook's "Step by step".
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

RUNBOOKS = Path(__file__).resolve().parents[2] / "deploy" / "runbooks"
PROGRAMS = ("temporal", "sessionflow")
_FENCE = re.compile(r"^[ \t]*```[a-z]*\n(.*?)^[ \t]*```", re.S | re.M)  # also inside list items


def fenced_commands(markdown: str) -> list[list[str]]:
    """Every ``temporal …`` / ``sessionflow …`` command in the text's fenced blocks, as argv."""
    commands: list[list[str]] = []
    for block in _FENCE.findall(markdown):
        for line in block.replace("\\\n", " ").splitlines():
            try:
                words = shlex.split(line, comments=True)
            except ValueError:  # an unbalanced quote: prose or output, not a command
                continue
            if words and words[0] in PROGRAMS:
                commands.append(words)
    return commands


def section(markdown: str, heading: str) -> str:
    """The text under ``## heading`` up to the next ``## ``."""
    start = markdown.index(f"\n## {heading}\n")
    end = markdown.find("\n## ", start + 1)
    return markdown[start : end if end != -1 else None]
