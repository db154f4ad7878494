"""structlog configuration: personal keys never rendered; JSON lines carry the bound ids."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider

from observability.logging import configure_logging, is_personal_key, redact_personal, reset_logging
from settings import Settings


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    root_level = logging.getLogger().level
    configure_logging(Settings(log_format="json", log_level="DEBUG"), stream=buffer, force=True)
    try:
        yield buffer
    finally:
        reset_logging()
        structlog.contextvars.clear_contextvars()
        logging.getLogger().setLevel(root_level)


def lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_the_redaction_processor_drops_personal_keys_at_any_depth() -> None:
    event = {
        "event": "charged",
        "session_id": "ses_1",
        "email": "a@example.com",
        "name": "Ann",
        "first_name": "Ann",
        "last_name": "Lee",
        "notes": "health data",
        "reason_text": "free text",
        "client_secret": "pi_1_secret_x",
        "payment_intent_client_secret": "pi_1_secret_y",
        "card": {"last4": "4242"},
        "client_email": "a@example.com",
        "Email": "a@example.com",
        "payload": {"client_secret": "pi_2_secret", "status": "requires_action", "deep": {"notes": "x"}},
        "update_name": "cancel",
        "notification_type": "charge_succeeded",
    }

    out = redact_personal(None, "info", dict(event))

    assert out == {
        "event": "charged",
        "session_id": "ses_1",
        "payload": {"status": "requires_action", "deep": {}},
        "update_name": "cancel",
        "notification_type": "charge_succeeded",
    }


@pytest.mark.parametrize("key", ["session_id", "therapist_id", "event_id", "workflow_type", "logger"])
def test_opaque_keys_are_kept(key: str) -> None:
    assert not is_personal_key(key)


def test_json_lines_are_valid_json_with_the_bound_ids_and_no_personal_data(json_logs: io.StringIO) -> None:
    structlog.contextvars.bind_contextvars(request_id="req_123")
    structlog.get_logger("sessionflow.test").info("from structlog", session_id="ses_1", email="a@b.c")
    logging.getLogger("sessionflow.stdlib").warning(
        "from %s", "stdlib", extra={"session_id": "ses_2", "first_name": "Ann"}
    )

    first, second = lines(json_logs)
    assert first["event"] == "from structlog"
    assert first["request_id"] == "req_123"
    assert first["session_id"] == "ses_1"
    assert first["level"] == "info"
    assert first["logger"] == "sessionflow.test"
    assert "timestamp" in first
    assert "email" not in first
    assert second["event"] == "from stdlib"
    assert second["request_id"] == "req_123"
    assert second["session_id"] == "ses_2"
    assert second["level"] == "warning"
    assert "first_name" not in second


def test_a_line_logged_under_a_span_carries_its_trace_and_span_ids(json_logs: io.StringIO) -> None:
    logging.getLogger("sessionflow.untraced").info("no span")
    with TracerProvider().get_tracer("t").start_as_current_span("RunActivity:charge_session") as span:
        structlog.get_logger("sessionflow.test").info("from structlog")
        logging.getLogger("sessionflow.stdlib").info("from stdlib")

    untraced, *traced = lines(json_logs)
    assert "trace_id" not in untraced and "span_id" not in untraced
    context = span.get_span_context()
    for line in traced:
        assert line["trace_id"] == f"{context.trace_id:032x}"
        assert line["span_id"] == f"{context.span_id:016x}"


def test_configuring_twice_keeps_one_handler(json_logs: io.StringIO) -> None:
    configure_logging(Settings(log_format="json"))  # a no-op: already configured
    logging.getLogger("sessionflow.once").info("once")
    assert [line["event"] for line in lines(json_logs)] == ["once"]
