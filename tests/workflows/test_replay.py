"""Every recorded history (tests/histories/) replays against the current workflow code.

A change that would break running sessions (nondeterminism) fails here; such a change needs
``workflow.patched`` instead.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from observability.tracing import temporal_interceptors
from settings import Settings
from temporal_client.converter import DATA_CONVERTER
from worker import workflow_runner
from workflows.practice import PracticeWorkflow
from workflows.refunds import SessionRefundsWorkflow
from workflows.session import SessionWorkflow

HISTORIES = sorted((Path(__file__).resolve().parents[1] / "histories").glob("*.json"))


def test_histories_cover_the_main_paths() -> None:
    names = {path.stem for path in HISTORIES}
    for expected in (
        "therapist_follow_up_is_charged_off_session_at_start_minus_48h",
        "cancel_one_second_before_the_deadline_is_free_and_the_charge_never_happens",
        "therapist_cancellation_after_the_charge_refunds_in_full",
        "three_declines_cancel_the_session_unpaid_at_minus_1h",
        "authentication_required_sends_the_client_on_session_and_the_webhook_settles_it",
        "a_new_card_after_a_hard_decline_is_charged_at_once",
        "a_paid_session_moved_a_week_later_is_never_charged_again",
        "a_worker_killed_during_the_charge_is_replaced_without_a_second_charge",
        "attendance_is_recorded_and_the_session_completes",
        "rebooking_the_same_time_keeps_18_00_london_across_the_clock_change[spring-forward]",
        "no_rebook_releases_the_clients_slot_and_says_so_and_it_can_be_added_back",
        "ending_can_cancel_the_clients_future_sessions_as_therapist_cancellations",
        "reminders_fire_at_the_configured_offsets_and_stop_after_the_update",
        "a_stripe_outage_longer_than_the_retry_budget_is_not_a_decline",
        "a_client_booking_from_their_dashboard_is_charged_on_session_and_3ds_runs_in_their_browser",
        "a_client_entering_a_new_card_after_a_decline_authenticates_in_their_browser",
        # issue 12 §1: who is told what (behind the terms-notifications patches)
        "a_therapist_cancelling_tells_the_client_and_confirms_to_the_therapist",
        "action_required_goes_to_the_client_the_therapist_hears_it_is_pending_and_reminders_follow",
        "a_follow_up_with_its_slot_tells_the_client_it_is_booked_and_confirms_both_to_the_therapist",
        "the_therapist_is_reminded_of_the_attendance_update_at_24_hours_72_hours_and_7_days",
        "ending_a_relationship_in_the_dashboard_is_a_dated_client_note_and_a_therapist_confirmation",
        "a_client_booking_is_charged_on_session_and_its_answer_waited_for_a_bounded_time",
        # issue 15: a refunds workflow waits past its period for a dispute holding a refund
        "a_dispute_won_after_the_refund_period_pays_the_refund_it_held_once-1",
        "a_dispute_still_open_after_its_timeline_hands_the_held_refund_to_ops-1",
    ):
        assert expected in names, f"no recorded history for {expected}"


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays_without_nondeterminism(path: Path) -> None:
    workflow_id = f"replay-{path.stem}"
    history = WorkflowHistory.from_json(workflow_id, json.loads(path.read_text()))  # noqa: ASYNC240
    replayer = Replayer(
        workflows=[SessionWorkflow, PracticeWorkflow, SessionRefundsWorkflow], data_converter=DATA_CONVERTER
    )

    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)

    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"


async def test_every_recorded_history_replays_with_the_tracing_interceptor_and_makes_no_span() -> None:
    """Traces on, the worker runs the tracing interceptor: it adds no command (a history recorded
    without it replays), it runs in the worker's own sandbox, and a replay makes no span again."""
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    replayer = Replayer(
        workflows=[SessionWorkflow, PracticeWorkflow, SessionRefundsWorkflow],
        data_converter=DATA_CONVERTER,
        interceptors=temporal_interceptors(provider),
        workflow_runner=workflow_runner(Settings(workflow_sandbox="strict")),
    )

    async def histories() -> AsyncIterator[WorkflowHistory]:
        for path in HISTORIES:
            yield WorkflowHistory.from_json(f"traced-{path.stem}", json.loads(path.read_text()))

    failures, replayed = [], 0
    async with replayer.workflow_replay_iterator(histories()) as results:
        async for result in results:
            replayed += 1
            if result.replay_failure is not None:
                failures.append(f"{result.history.workflow_id}: {result.replay_failure}")

    assert failures == []
    assert replayed == len(HISTORIES) > 100
    assert exported.get_finished_spans() == ()
