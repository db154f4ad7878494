"""structlog for every Sessionflow process: one format for our logs and the stdlib's.

``configure_logging(settings)`` runs once per process (the worker's and the API's entry points).
Records from structlog loggers and from the standard library (``workflow.logger``,
``activity.logger``, uvicorn, temporalio) all pass through structlog's ``ProcessorFormatter`` and
come out as JSON lines (``SESSIONFLOW_LOG_FORMAT=json``) or as console lines. Every event:

* is dropped while a workflow replays history (the line was logged the first time round);
* carries ``workflow_id``/``run_id`` inside a workflow, ``workflow_id``/``activity_id``/``attempt``
  inside an activity, and the API's ``request_id`` (bound in contextvars by its middleware);
* carries ``trace_id``/``span_id`` while traces are on and a span is current (README "Traces"), so
  a line leads to its trace and a trace to its lines;
* loses every key named like personal or card data (``redact_personal``) before it is rendered
  — defence in depth: the code logs opaque ids only.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import structlog
from opentelemetry import trace
from structlog.typing import EventDict, Processor, WrappedLogger
from temporalio import activity, workflow

from settings import Settings

__all__ = [
    "PERSONAL_KEYS",
    "ReplayFilter",
    "bind_temporal_ids",
    "configure_logging",
    "drop_during_replay",
    "is_personal_key",
    "redact_personal",
    "reset_logging",
]

PERSONAL_KEYS = frozenset(
    {
        "email",
        "name",
        "first_name",
        "last_name",
        "full_name",
        "notes",
        "reason_text",
        "client_secret",
        "card",
        "card_number",
        "payment_intent_client_secret",
    }
)
"""Keys never rendered, whatever logged them; a key ending in ``_<one of these>`` goes too."""

# Keys that end like a personal key but hold opaque values (workflow.logger's update name).
_ALLOWED_KEYS = frozenset({"update_name", "logger_name", "activity_name", "workflow_name"})
_REDACT_DEPTH = 4


def is_personal_key(key: str) -> bool:
    lowered = key.lower()
    if lowered in _ALLOWED_KEYS:
        return False
    return lowered in PERSONAL_KEYS or any(lowered.endswith(f"_{personal}") for personal in PERSONAL_KEYS)


def _redacted(value: Any, depth: int) -> Any:
    if depth <= 0 or not isinstance(value, Mapping):
        return value
    return {k: _redacted(v, depth - 1) for k, v in value.items() if not is_personal_key(str(k))}


def redact_personal(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Drop keys named like personal or card data, at any level of nested dicts (a few deep)."""
    for key in [k for k in event_dict if is_personal_key(str(k))]:
        del event_dict[key]
    for key, value in event_dict.items():
        if isinstance(value, Mapping):
            event_dict[key] = _redacted(value, _REDACT_DEPTH)
    return event_dict


def _replaying() -> bool:
    return workflow.in_workflow() and workflow.unsafe.is_replaying_history_events()


def bind_temporal_ids(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Add the workflow's or the activity's ids, and flatten the SDK loggers' ``extra`` dicts."""
    # workflow.logger / activity.logger put a dict of the execution's info into ``extra``.
    for nested in ("temporal_workflow", "temporal_activity"):
        info = event_dict.pop(nested, None)
        if isinstance(info, Mapping):
            for key in ("workflow_id", "run_id", "activity_id", "attempt", "update_id", "update_name"):
                if key in info:
                    event_dict.setdefault(key, info[key])
            if "workflow_run_id" in info:
                event_dict.setdefault("run_id", info["workflow_run_id"])
    if workflow.in_workflow():
        winfo = workflow.info()
        event_dict.setdefault("workflow_id", winfo.workflow_id)
        event_dict.setdefault("run_id", winfo.run_id)
    elif activity.in_activity():
        ainfo = activity.info()
        event_dict.setdefault("workflow_id", ainfo.workflow_id)
        event_dict.setdefault("activity_id", ainfo.activity_id)
        event_dict.setdefault("attempt", ainfo.attempt)
    return event_dict


def add_trace_ids(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """The current span's trace and span ids (W3C hex), as a trace backend shows them; nothing when
    traces are off (no span is ever current then)."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict.setdefault("trace_id", trace.format_trace_id(context.trace_id))
        event_dict.setdefault("span_id", trace.format_span_id(context.span_id))
    return event_dict


def drop_during_replay(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    """Raise ``DropEvent`` while a workflow replays history; otherwise bind the Temporal ids."""
    if _replaying():
        raise structlog.DropEvent
    return bind_temporal_ids(logger, method, event_dict)


class ReplayFilter(logging.Filter):
    """The same rule for stdlib records (a processor in ``foreign_pre_chain`` must not raise)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _replaying()


def _timestamper() -> Processor:
    return structlog.processors.TimeStamper(fmt="iso", utc=True)


def _renderer(log_format: str, stream: TextIO) -> Processor:
    if log_format == "json":
        return structlog.processors.JSONRenderer(sort_keys=False)
    return structlog.dev.ConsoleRenderer(colors=stream.isatty())


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler ``configure_logging`` installed, so a second call replaces only it."""


_configured = False


def configure_logging(settings: Settings, *, stream: TextIO | None = None, force: bool = False) -> None:
    """Configure structlog and the stdlib root logger once per process (again only with ``force``)."""
    global _configured
    if _configured and not force:
        return
    out = stream if stream is not None else sys.stderr
    level = logging.getLevelName(settings.log_level.upper())
    if not isinstance(level, int):
        level = logging.INFO

    exceptions: Processor = (
        structlog.processors.dict_tracebacks
        if settings.log_format == "json"
        else structlog.processors.format_exc_info
    )
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        add_trace_ids,
        _timestamper(),
    ]
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            drop_during_replay,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder(), bind_temporal_ids],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            exceptions,
            redact_personal,
            _renderer(settings.log_format, out),
        ],
    )
    handler = _Handler(out)
    handler.setFormatter(formatter)
    handler.addFilter(ReplayFilter())

    root = logging.getLogger()
    for existing in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn's own handlers would print a second, differently formatted copy.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    # The ids travel as fields; the SDK loggers need not append them to every message too.
    workflow.logger.workflow_info_on_message = False
    activity.logger.activity_info_on_message = False
    _configured = True


def reset_logging() -> None:
    """Undo ``configure_logging`` (tests)."""
    global _configured
    root = logging.getLogger()
    for existing in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(existing)
    structlog.reset_defaults()
    workflow.logger.workflow_info_on_message = True
    activity.logger.activity_info_on_message = True
    _configured = False
