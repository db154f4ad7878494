"""``contract/`` says what the workflows really accept, and its names never change.

Callers address updates, signals and queries by the contract's definitions (a name plus types),
not by the workflow methods, so nothing else would notice a workflow renaming a handler or
changing its types: these checks compare both against the workflows' own Temporal definitions.
The literal values are pinned too: running workflows, their histories and the visibility store
hold them, so a rename would orphan every session already started.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.workflow import _Definition

from contract import ids, practice, session
from contract.messages import NO_ARGUMENT, Query, Signal, Update
from contract.search_attributes import (
    ALL_SEARCH_ATTRIBUTES,
    PAYMENT_INTENT,
    SESSION_END,
    SESSION_STATUS,
    session_search_attributes,
)
from contract.visibility import (
    RUNNING,
    OverdueCondition,
    awaiting_update_query,
    overdue_session_queries,
    sessions_query,
    sessions_reading_as,
)
from domain.status import BookingKind, SessionStatus
from tests.workflows.support import make_booking
from workflows.practice import PracticeWorkflow
from workflows.session import SessionWorkflow

WORKFLOWS: list[
    tuple[type, str, tuple[Update[Any, Any], ...], tuple[Signal[Any], ...], tuple[Query[Any, Any], ...]]
]
WORKFLOWS = [
    (
        SessionWorkflow,
        session.SESSION_WORKFLOW_TYPE,
        session.SESSION_UPDATES,
        session.SESSION_SIGNALS,
        session.SESSION_QUERIES,
    ),
    (
        PracticeWorkflow,
        practice.PRACTICE_WORKFLOW_TYPE,
        practice.PRACTICE_UPDATES,
        (),
        practice.PRACTICE_QUERIES,
    ),
]


def definition(workflow_class: type) -> _Definition:
    return _Definition.must_from_class(workflow_class)


def arg_types(arg_type: type) -> list[type]:
    return [] if arg_type is NO_ARGUMENT else [arg_type]


@pytest.mark.parametrize(("workflow_class", "type_name", "updates", "signals", "queries"), WORKFLOWS)
def test_the_contract_matches_the_workflow_definition(
    workflow_class: type,
    type_name: str,
    updates: tuple[Update[Any, Any], ...],
    signals: tuple[Signal[Any], ...],
    queries: tuple[Query[Any, Any], ...],
) -> None:
    defn = definition(workflow_class)
    assert defn.name == type_name
    assert {name: (handler.arg_types, handler.ret_type) for name, handler in defn.updates.items()} == {
        update.name: (arg_types(update.arg_type), update.result_type) for update in updates
    }
    assert {name: handler.arg_types for name, handler in defn.signals.items()} == {
        signal.name: arg_types(signal.arg_type) for signal in signals
    }
    # The SDK's own queries (``__stack_trace`` …) are not ours to declare.
    assert {
        name: (handler.arg_types, handler.ret_type)
        for name, handler in defn.queries.items()
        if name is not None and not name.startswith("__")
    } == {query.name: (arg_types(query.arg_type), query.result_type) for query in queries}


def test_the_names_running_workflows_depend_on_never_change() -> None:
    assert (session.SESSION_WORKFLOW_TYPE, practice.PRACTICE_WORKFLOW_TYPE) == (
        "SessionWorkflow",
        "PracticeWorkflow",
    )
    assert [update.name for update in session.SESSION_UPDATES] == [
        "cancel",
        "reschedule",
        "update_payment_method",
        "file_attendance",
        "charge_answer",
        "refund",
        "mark_no_show",
    ]
    assert [signal.name for signal in session.SESSION_SIGNALS] == [
        "payment_event",
        "payment_account_event",
        "dispute_event",
    ]
    # New names are appended (the previews of issue 12 §6); existing ones never change.
    assert [query.name for query in session.SESSION_QUERIES] == [
        "state",
        "booking",
        "cancel_preview",
        "reschedule_preview",
        "dispute_evidence",
    ]
    assert [update.name for update in practice.PRACTICE_UPDATES] == [
        "register_client",
        "reserve_slot",
        "release_slots",
        "end_relationship",
        "restart_relationship",
        "claim_time",
        "release_time",
        "set_payment_account",
        "record_account_status",
    ]
    assert [query.name for query in practice.PRACTICE_QUERIES] == [
        "clients",
        "occurrences",
        "booking_time",
        "state",
        "payment_account",
    ]
    assert [(key.name, key.indexed_value_type.name) for key in ALL_SEARCH_ATTRIBUTES] == [
        ("SessionStatus", "KEYWORD"),
        ("TherapistId", "KEYWORD"),
        ("ClientId", "KEYWORD"),
        ("SessionStart", "DATETIME"),
        ("SessionEnd", "DATETIME"),
        ("SessionPaymentIntent", "KEYWORD"),
        ("PaymentAccountId", "KEYWORD"),
    ]
    assert ids.session_workflow_id("ses_1") == "session-ses_1"
    assert ids.practice_workflow_id("thr_1") == "practice-thr_1"


def test_visibility_queries_are_built_from_the_contract_names() -> None:
    assert sessions_query() == "WorkflowType = 'SessionWorkflow'"
    assert sessions_query(therapist_id="thr_1", statuses=[SessionStatus.AWAITING_UPDATE]) == (
        "WorkflowType = 'SessionWorkflow' AND TherapistId = 'thr_1' AND SessionStatus = 'awaiting_update'"
    )
    after = datetime(2027, 3, 1, 9, tzinfo=UTC)
    assert sessions_query(
        running=True,
        therapist_id="thr_1",
        client_id="cli_1",
        statuses=[SessionStatus.SCHEDULED, SessionStatus.PAID],
        starts_after=after,
    ) == (
        f"WorkflowType = 'SessionWorkflow' AND {RUNNING} AND TherapistId = 'thr_1' AND ClientId = 'cli_1'"
        " AND SessionStatus IN ('scheduled', 'paid') AND SessionStart > '2027-03-01T09:00:00+00:00'"
    )


@pytest.mark.parametrize("bad", ["thr' OR WorkflowType != '", "", "x" * 65, "thr 1"])
def test_visibility_queries_refuse_an_id_that_could_break_out_of_its_quotes(bad: str) -> None:
    with pytest.raises(ValueError, match="therapist id"):
        sessions_query(therapist_id=bad)
    with pytest.raises(ValueError, match="client id"):
        sessions_query(client_id=bad)


def test_a_session_paid_at_checkout_starts_with_its_payment_intent_published() -> None:
    # The checkout's own payment_intent.succeeded then needs no signal (domain.payment_facts).
    start = datetime(2026, 12, 10, 9, tzinfo=UTC)
    prepaid = make_booking(BookingKind.INITIAL_PREPAID, start=start, prepaid_payment_intent_id="pi_checkout")
    charged_later = make_booking(start=start)

    assert session_search_attributes(prepaid).get(PAYMENT_INTENT) == "pi_checkout"
    assert session_search_attributes(prepaid).get(SESSION_STATUS) == SessionStatus.PAID
    assert session_search_attributes(charged_later).get(PAYMENT_INTENT) is None
    assert session_search_attributes(charged_later).get(SESSION_END) == start + timedelta(minutes=50)


def test_a_session_past_its_end_still_scheduled_or_paid_is_listed_as_awaiting_its_update() -> None:
    now = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
    assert awaiting_update_query("thr_1", now) == (
        f"WorkflowType = 'SessionWorkflow' AND {RUNNING} AND TherapistId = 'thr_1'"
        " AND (SessionStatus IN ('awaiting_update', 'client_no_show')"
        " OR (SessionStatus IN ('paid', 'scheduled') AND SessionEnd <= '2027-03-01T09:30:00+00:00'))"
    )
    with pytest.raises(ValueError):
        awaiting_update_query("thr' OR 'x", now)


def test_overdue_sessions_are_counted_from_the_existing_attributes_and_start_time() -> None:
    now = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)
    running = f"WorkflowType = 'SessionWorkflow' AND {RUNNING}"
    cancelled = "'cancelled_by_therapist', 'cancelled_free', 'cancelled_late', 'cancelled_unpaid'"
    awaiting = (
        "SessionStatus IN ('awaiting_update', 'client_no_show') OR SessionStatus IN ('paid', 'scheduled')"
    )
    assert overdue_session_queries(now) == {
        # Booked over an hour ago, and start − 48 h + the 10-minute spread over an hour ago.
        OverdueCondition.PAYMENT_DUE_OVER_1H: f"{running} AND SessionStatus = 'payment_due'"
        " AND StartTime < '2027-03-10T11:00:00+00:00' AND SessionStart < '2027-03-12T10:50:00+00:00'",
        OverdueCondition.CANCELLED_OPEN_1D_AFTER_END: f"{running} AND SessionStatus IN ({cancelled})"
        " AND SessionEnd < '2027-03-09T12:00:00+00:00'",
        # The policy's last reminder: end + 7 days.
        OverdueCondition.AWAITING_UPDATE_PAST_LAST_REMINDER: f"{running} AND ({awaiting})"
        " AND SessionEnd < '2027-03-03T12:00:00+00:00'",
    }
    with pytest.raises(ValueError):
        overdue_session_queries(now, therapist_id="thr' OR 'x")


def test_ops_listing_sessions_awaiting_their_update_includes_paid_ones_past_their_end() -> None:
    now = datetime(2027, 3, 28, 9, 0, tzinfo=UTC)
    query = sessions_reading_as(SessionStatus.AWAITING_UPDATE, now, therapist_id="thr_1")
    assert query == (
        "WorkflowType = 'SessionWorkflow' AND TherapistId = 'thr_1' AND (SessionStatus = 'awaiting_update'"
        " OR (SessionStatus IN ('paid', 'scheduled') AND SessionEnd <= '2027-03-28T09:00:00+00:00'))"
    )
    assert sessions_reading_as(SessionStatus.PAID, now) == (
        "WorkflowType = 'SessionWorkflow' AND SessionStatus = 'paid'"
    )
