"""``sessionflow``: the operations CLI.

    sessionflow api | codec | worker
    sessionflow sessions list [--status S] [--therapist T] [--limit N]
    sessionflow sessions show SESSION_ID
    sessionflow replay [--workflow-id ID ...] [--query VISIBILITY_QUERY] [--file PATH ...] [--upto-event N]
    sessionflow versions show | promote BUILD_ID [--wait-seconds N]
    sessionflow clients erase CLIENT_ID [--yes] [--force] | ledger CLIENT_ID
    sessionflow kms rotate-master

Everything connects with ``temporal_client.converter.connect(Settings())``, so ``SESSIONFLOW_*``
variables pick the server, namespace and payload keys exactly as for the worker.

The CLI ships in the image, the development code (``dev``: the local stack, the Stripe stand-in)
does not: the local stack is ``make run`` (``python -m dev.stack``) from a checkout.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import sys
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer

from contract.ids import session_id_from_workflow_id
from contract.search_attributes import SESSION_START, SESSION_STATUS
from contract.visibility import RUNNING, sessions_query, sessions_reading_as
from domain.ids import is_opaque_id
from domain.practice import PracticeState
from domain.status import SessionStatus
from settings import Settings
from temporal_client.codec import build_data_converter, payload_key_ids
from temporal_client.converter import connect
from temporal_client.deployments import PromotionTimeout, Routing, describe_routing, promote
from temporal_client.erasure import ErasureRecord, ErasureRefused, MoneyMovement, client_ledger, erase_client
from temporal_client.kms import LocalFileKms
from temporal_client.practice_client import restore_practice
from workflows.practice import PracticeWorkflow
from workflows.session import SessionWorkflow

app = typer.Typer(name="sessionflow", help="Run and inspect Sessionflow.", no_args_is_help=True)
sessions_app = typer.Typer(help="Read sessions from Temporal.", no_args_is_help=True)
app.add_typer(sessions_app, name="sessions")
keys_app = typer.Typer(help="Payload encryption keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
practice_app = typer.Typer(help="Therapists' practices.", no_args_is_help=True)
app.add_typer(practice_app, name="practice")
versions_app = typer.Typer(help="Worker versions: which build gets the tasks.", no_args_is_help=True)
app.add_typer(versions_app, name="versions")
clients_app = typer.Typer(help="Clients: erasure, and the money kept after it.", no_args_is_help=True)
app.add_typer(clients_app, name="clients")
kms_app = typer.Typer(
    help="The key store of per-client data keys (envelope encryption).", no_args_is_help=True
)
app.add_typer(kms_app, name="kms")

# Replaying needs the workflow code itself: the one reason the CLI imports workflows.
REPLAYED_WORKFLOWS: list[type] = [SessionWorkflow, PracticeWorkflow]

T = TypeVar("T")
_SDK_RUNTIME_STARTED = False
"""Set once a command has run a coroutine (Temporal client, replayer): see ``main``."""


def _run(work: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; an unreachable Temporal is a one-line error, not a traceback."""
    global _SDK_RUNTIME_STARTED
    _SDK_RUNTIME_STARTED = True
    try:
        return asyncio.run(work)
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            raise
        typer.echo(f"Temporal answered {error.status.name}: {error.message}", err=True)
    except RuntimeError as error:  # the SDK's "Failed client connect"
        typer.echo(f"cannot reach Temporal at {Settings().temporal_address}: {error}", err=True)
    raise typer.Exit(2)


@app.command()
def api() -> None:
    """Serve the HTTP API (uvicorn on SESSIONFLOW_API_HOST:SESSIONFLOW_API_PORT)."""
    from api.__main__ import main

    main()


@app.command()
def codec() -> None:
    """Serve only the codec endpoint and health checks (on SESSIONFLOW_API_HOST:SESSIONFLOW_API_PORT)."""
    from api.codec_app import main

    main()


@app.command()
def worker() -> None:
    """Run the worker until Ctrl-C or SIGTERM."""
    from worker import main

    main()


def _visibility_query(status: SessionStatus | None, therapist: str | None) -> str:
    if therapist is not None and not is_opaque_id(therapist):
        raise typer.BadParameter("1-64 characters of [A-Za-z0-9_-]", param_hint="--therapist")
    if status is None:
        return sessions_query(therapist_id=therapist)
    # As a read shows it now: a paid session past its end is awaiting its update.
    return sessions_reading_as(status, datetime.now(UTC), therapist_id=therapist)


def _when(value: datetime | None) -> str:
    return value.isoformat() if value is not None else "-"


async def _list_sessions(query: str, limit: int) -> list[tuple[str, str, str]]:
    client = await connect(Settings())
    rows = []
    async for execution in client.list_workflows(query, limit=limit):
        attributes = execution.typed_search_attributes
        try:
            session_id = session_id_from_workflow_id(execution.id)
        except ValueError:
            session_id = execution.id
        rows.append((session_id, attributes.get(SESSION_STATUS) or "-", _when(attributes.get(SESSION_START))))
    return rows


@sessions_app.command("list")
def list_sessions(
    status: Annotated[SessionStatus | None, typer.Option(help="only sessions in this status")] = None,
    therapist: Annotated[str | None, typer.Option(help="only this therapist's sessions")] = None,
    limit: Annotated[int, typer.Option(min=1, help="at most this many")] = 100,
) -> None:
    """Sessions from Temporal visibility (eventually consistent): id, status, start."""
    rows = _run(_list_sessions(_visibility_query(status, therapist), limit))
    for session_id, session_status, start in rows:
        typer.echo(f"{session_id}\t{session_status}\t{start}")
    if not rows:
        typer.echo("no sessions match", err=True)


async def _show(session_id: str) -> list[str]:
    from temporal_client.timeline import session_timeline

    client = await connect(Settings())
    timeline = await session_timeline(client, session_id)
    lines = []
    if timeline.erased_payloads:
        lines.append(
            f"!! erased: {timeline.erased_payloads} payloads belong to an erased client (their data key "
            "was destroyed); only the kept financial facts and the events themselves show below"
        )
    if timeline.undecodable_payloads:
        lines.append(
            f"!! {timeline.undecodable_payloads} payloads could not be decrypted (a codec key this "
            "process lacks: SESSIONFLOW_CODEC_KEYS); their details are missing below"
        )
    for event in timeline.events:
        detail = " ".join(f"{key}={value}" for key, value in event.detail.items())
        lines.append(f"{event.at.isoformat()}  {event.kind}  {detail}".rstrip())
    return lines


@sessions_app.command("show")
def show_session(
    session_id: Annotated[str, typer.Argument(help="the session id (not the workflow id)")],
) -> None:
    """The session's timeline, read from its history."""
    if not is_opaque_id(session_id):
        raise typer.BadParameter("1-64 characters of [A-Za-z0-9_-]", param_hint="SESSION_ID")
    try:
        lines = _run(_show(session_id))
    except RPCError as error:
        if error.status is not RPCStatusCode.NOT_FOUND:
            raise
        typer.echo(f"no session {session_id}", err=True)
        raise typer.Exit(1) from None
    for line in lines:
        typer.echo(line)


def _describe(failure: Exception) -> str:
    """``NondeterminismError: <the core's message>`` rather than the whole activation dump."""
    text = str(failure)
    core = re.search(r'message: "((?:[^"\\]|\\.)*)"', text)
    return f"{type(failure).__name__}: {core.group(1) if core else text}"


def reset_point(history: WorkflowHistory, failure: str) -> tuple[int, int] | None:
    """``(first bad event, reset event)`` for a nondeterminism naming the event it stopped at.

    The event the core names is the first recorded command the code no longer issues; the
    workflow task that issued it is the last ``WorkflowTaskCompleted`` before it, and resetting
    to that event re-runs that task on the current code (deploy/runbooks/reset-after-nondeterminism.md).
    None when the message names no event or no completed task precedes it."""
    named = re.search(r"HistoryEvent\(id: (\d+)", failure)
    if named is None:
        return None
    bad = int(named.group(1))
    completed = [
        event.event_id
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and event.event_id < bad
    ]
    return (bad, completed[-1]) if completed else None


def _cut(history: WorkflowHistory, upto_event: int) -> WorkflowHistory:
    return WorkflowHistory(history.workflow_id, [e for e in history.events if e.event_id <= upto_event])


async def _replay(
    workflow_ids: list[str], files: list[Path], query: str | None, upto_event: int | None = None
) -> list[tuple[str, str | None]]:
    """(name, failure or None) per history; histories from files first, then from the server.
    ``upto_event`` keeps events 1..N of each: the replayer decides the last task afresh."""
    settings = Settings()
    histories: list[tuple[str, WorkflowHistory]] = []
    for path in files:
        histories.append((str(path), WorkflowHistory.from_json(path.stem, json.loads(path.read_text()))))
    converter: DataConverter = build_data_converter(settings)
    if workflow_ids or query:
        client: Client = await connect(settings)
        converter = client.data_converter
        if query:
            workflow_ids = [*workflow_ids, *[e.id async for e in client.list_workflows(query)]]
        for workflow_id in workflow_ids:
            try:
                history = await client.get_workflow_handle(workflow_id).fetch_history()
            except RPCError as error:
                if error.status is not RPCStatusCode.NOT_FOUND:
                    raise
                raise typer.BadParameter(f"no workflow {workflow_id}", param_hint="--workflow-id") from None
            histories.append((workflow_id, history))
    if upto_event is not None:
        histories = [(name, _cut(history, upto_event)) for name, history in histories]
    replayer = Replayer(workflows=REPLAYED_WORKFLOWS, data_converter=converter)
    outcomes: list[tuple[str, str | None]] = []
    for name, history in histories:
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        failure = result.replay_failure
        if failure is None:
            outcomes.append((name, None))
            continue
        described = _describe(failure)
        point = reset_point(history, described)
        if point is not None:
            bad, reset = point
            described += (
                f"\n      first bad event {bad}; its workflow task completed at event {reset}: "
                f"reset with --event-id {reset} (check first: --upto-event {reset - 1} replays)"
            )
        outcomes.append((name, described))
    return outcomes


@app.command()
def replay(
    workflow_id: Annotated[
        list[str] | None, typer.Option("--workflow-id", help="replay this workflow's history from the server")
    ] = None,
    file: Annotated[
        list[Path] | None,
        typer.Option("--file", exists=True, dir_okay=False, help="replay a history exported as JSON"),
    ] = None,
    query: Annotated[
        str | None,
        typer.Option(
            "--query",
            help=f'replay every workflow this visibility query finds; before a rollout: "{RUNNING}"',
        ),
    ] = None,
    upto_event: Annotated[
        int | None,
        typer.Option(
            "--upto-event",
            min=1,
            help="replay only events 1..N of each history (the last good workflow task before a reset)",
        ),
    ] = None,
) -> None:
    """Replay histories against the current workflow code; exit 1 on nondeterminism. A failure that
    names an event also prints the reset point (deploy/runbooks/reset-after-nondeterminism.md)."""
    if not workflow_id and not file and not query:
        raise typer.BadParameter("give at least one --workflow-id, --query or --file")
    outcomes = _run(_replay(list(workflow_id or []), list(file or []), query, upto_event))
    failed = 0
    for name, failure in outcomes:
        if failure is None:
            typer.echo(f"ok    {name}")
        else:
            failed += 1
            typer.echo(f"FAIL  {name}: {failure}")
    typer.echo(f"{len(outcomes) - failed} replayed, {failed} failed")
    if failed:
        raise typer.Exit(1)


async def _restore(therapist_id: str, state: PracticeState | None) -> PracticeState:
    settings = Settings()
    client: Client = await connect(settings)
    try:
        return await restore_practice(client, therapist_id, task_queue=settings.task_queue, state=state)
    except WorkflowAlreadyStartedError:
        raise typer.BadParameter(f"practice-{therapist_id} is running: there is nothing to restore") from None


@practice_app.command("restore")
def restore(
    therapist_id: Annotated[str, typer.Argument(help="the therapist whose closed practice to restart")],
    state_file: Annotated[
        Path | None,
        typer.Option(
            "--from-file", exists=True, dir_okay=False, help="a PracticeState as JSON (a migration)"
        ),
    ] = None,
) -> None:
    """Start a closed practice again with the state its last run held (or --from-file): the only way
    a practice starts over after it closed. Needs a worker running to read the closed run."""
    given = None if state_file is None else PracticeState.model_validate_json(state_file.read_text())
    state = _run(_restore(therapist_id, given))
    active = sum(1 for slot in state.slots.values() if slot.active)
    typer.echo(f"restored practice-{therapist_id}: {len(state.relationships)} relationships, {active} slots")


async def _executions_needing(key_id: str, query: str | None) -> list[str]:
    client: Client = await connect(Settings())
    needing: list[str] = []
    async for execution in client.list_workflows(query or None):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        history = await handle.fetch_history()
        if any(key_id in payload_key_ids(event) for event in history.events):
            status = execution.status.name if execution.status is not None else "UNKNOWN"
            needing.append(f"{execution.id}\t{execution.run_id}\t{status}")
    return needing


@keys_app.command("in-use")
def keys_in_use(
    key_id: Annotated[str, typer.Argument(help="the codec key id to retire")],
    query: Annotated[
        str | None,
        typer.Option(
            "--query", help="only the executions this visibility query finds (default: all retained)"
        ),
    ] = None,
) -> None:
    """List the executions (running, or closed and still retained) whose history holds a payload
    encrypted with KEY_ID; exit 1 if there is any. A key is retired only once this finds none: a
    session booked a year ahead, or waiting for its attendance update, needs its key to replay."""
    needing = _run(_executions_needing(key_id, query))
    for line in needing:
        typer.echo(line)
    typer.echo(f"{len(needing)} execution(s) still need key {key_id}")
    if needing:
        raise typer.Exit(1)


def _kms(settings: Settings) -> LocalFileKms:
    if settings.kms_dir is None:
        typer.echo("envelope encryption is off: set SESSIONFLOW_KMS_DIR (deploy/README.md)", err=True)
        raise typer.Exit(2)
    return LocalFileKms.from_settings(settings)


async def _erase(client_id: str, force: bool) -> ErasureRecord:
    settings = Settings()
    kms = _kms(settings)
    client: Client = await connect(settings)
    return await erase_client(client, settings, kms, client_id, force=force)


def _client_id(client_id: str) -> str:
    if not is_opaque_id(client_id):
        raise typer.BadParameter("1-64 characters of [A-Za-z0-9_-]", param_hint="CLIENT_ID")
    return client_id


@clients_app.command("erase")
def erase(
    client_id: Annotated[str, typer.Argument(help="the client's opaque id")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="also cancel (as an admin) sessions whose charge failed or is held; never overrides money",
        ),
    ] = False,
) -> None:
    """Erase a client: close what still runs for them, destroy their data keys (no payload of theirs
    decodes again, anywhere), record the erasure (no personal data). Refused, changing nothing,
    while one of their workflows may hold, collect or owe money (listed: a session not
    `scheduled`, a closed session's dispute_open / refund_owed); --force only lets sessions whose
    charge failed or is held be cancelled too, and never terminates anything.
    Idempotent: erasing again changes nothing. Financial facts stay (`sessionflow clients ledger`)."""
    client_id = _client_id(client_id)
    if not yes:
        typer.confirm(f"Erase client {client_id}? This cannot be undone", abort=True)
    try:
        record = _run(_erase(client_id, force))
    except ErasureRefused as refused:
        typer.echo(str(refused), err=True)
        for session_id, status in refused.blocking:
            typer.echo(f"{session_id}\t{status}")
        raise typer.Exit(1) from None
    state = "already erased" if record.already_erased else "erased"
    typer.echo(
        f"{state}: erasure {record.erasure_id} at {record.erased_at}: {record.sessions} session(s), "
        f"{record.workflows_closed} workflow(s) closed ({record.forced} forced), "
        f"{record.data_keys_destroyed} data key(s) destroyed, {record.relationships_ended} "
        "relationship(s) ended"
    )


async def _ledger(client_id: str) -> list[MoneyMovement]:
    client: Client = await connect(Settings())
    return await client_ledger(client, client_id)


@clients_app.command("ledger")
def ledger(client_id: Annotated[str, typer.Argument(help="the client's opaque id")]) -> None:
    """The client's charges and refunds from the kept financial facts (also after an erasure):
    time, session, kind, amount, currency, PaymentIntent, refund — to reconcile with Stripe."""
    for movement in _run(_ledger(_client_id(client_id))):
        typer.echo(
            f"{movement.at.isoformat()}\t{movement.session_id}\t{movement.kind}\t{movement.amount_minor}\t"
            f"{movement.currency or '-'}\t{movement.payment_intent_id or '-'}\t{movement.refund_id or '-'}"
        )


@kms_app.command("rotate-master")
def rotate_master() -> None:
    """Rewrap every data key under the current master key (SESSIONFLOW_KMS_CURRENT_MASTER_KEY_ID).
    Run it with both the old and the new master key in SESSIONFLOW_KMS_MASTER_KEYS; once it reports
    only the new key in use, the old one can be removed from the ring."""
    kms = _kms(Settings())
    # In batches, the lock let go between them: bookings and erasures go on meanwhile.
    changed = kms.rewrap_all(between_batches=lambda done: typer.echo(f"... {done} rewrapped so far"))
    in_use = ", ".join(sorted(kms.master_key_ids_in_use())) or "none"
    typer.echo(f"rewrapped {changed} data key(s); master keys in use: {in_use}")


DeploymentOption = Annotated[
    str | None,
    typer.Option(
        "--deployment-name", help="the Worker Deployment (default: SESSIONFLOW_WORKER_DEPLOYMENT_NAME)"
    ),
]
RPC_TIMEOUT = timedelta(seconds=10)


def _deployment_name(given: str | None) -> str:
    name = given or Settings().worker_deployment_name
    if not name:
        raise typer.BadParameter(
            "no Worker Deployment: pass --deployment-name or set SESSIONFLOW_WORKER_DEPLOYMENT_NAME",
            param_hint="--deployment-name",
        )
    return name


async def _routing(deployment_name: str) -> Routing | None:
    client: Client = await connect(Settings())
    return await describe_routing(client, deployment_name, rpc_timeout=RPC_TIMEOUT)


@versions_app.command("show")
def show_versions(deployment_name: DeploymentOption = None) -> None:
    """Print the deployment's current (and ramping) build and every build the server knows."""
    name = _deployment_name(deployment_name)
    routing = _run(_routing(name))
    if routing is None:
        typer.echo(f"no worker deployment {name}: no versioned worker has polled yet", err=True)
        raise typer.Exit(1)
    typer.echo(f"current\t{routing.current_build_id or 'unversioned'}")
    if routing.ramping_build_id:
        typer.echo(f"ramping\t{routing.ramping_build_id}\t{routing.ramping_percentage:g}%")
    for build_id in routing.build_ids:
        typer.echo(f"known\t{build_id}")


async def _promote(deployment_name: str, build_id: str, wait: timedelta) -> str | None:
    client: Client = await connect(Settings())
    identity = f"sessionflow versions promote@{socket.gethostname()}"
    return await promote(client, deployment_name, build_id, identity=identity, wait=wait)


@versions_app.command("promote")
def promote_version(
    build_id: Annotated[str, typer.Argument(help="the build to make current: the new image's tag")],
    deployment_name: DeploymentOption = None,
    wait_seconds: Annotated[
        float, typer.Option("--wait-seconds", min=0, help="how long to wait for the build's workers to poll")
    ] = 300,
) -> None:
    """Make BUILD_ID the current version once its workers poll: the release step after
    `kubectl apply` (deploy/README.md). Until it runs, the new pods are not ready and the rollout
    keeps every old pod working. Exit 1 if the build has no pollers within --wait-seconds."""
    name = _deployment_name(deployment_name)
    try:
        previous = _run(_promote(name, build_id, timedelta(seconds=wait_seconds)))
    except PromotionTimeout as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{name}: current version {build_id} (was {previous or 'unversioned'})")


def main() -> None:
    """The ``sessionflow`` entry point. After a command that used the Temporal SDK (a client, the
    replayer), the process ends without interpreter teardown: the SDK's Rust threads can call into
    a finalizing interpreter and abort it (``Fatal Python error: PyGILState_Release``, exit 134)
    after a command that succeeded and printed its output — temporalio/sdk-python#300, seen here
    about once in 20 runs of ``sessions show`` while drilling the reset runbook. Long-running
    commands (``worker``, ``api``, ``codec``) never set the flag and shut down normally."""
    try:
        app()
        code: object = 0
    except SystemExit as done:
        code = done.code
    if not _SDK_RUNTIME_STARTED:
        raise SystemExit(code)
    if isinstance(code, str):
        print(code, file=sys.stderr)  # noqa: T201 — what SystemExit would have printed
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))


if __name__ == "__main__":
    main()
