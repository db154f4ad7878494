"""PracticeWorkflow: one per therapist, holding client relationships and reserved weekly slots.

An entity workflow: it is started lazily by the first update-with-start, serialises every change
to the therapist's relationships and slots (so two clients can never reserve overlapping times),
and waits — no timers, no polling — until the server suggests continuing as new, then carries its
state into the next run. Commands are updates with validators (rejections never enter history);
the caller's request id is the update id, and outcomes are remembered in the state for
``OUTCOME_RETENTION`` (48 h) so a request repeated after continue-as-new still returns its first
outcome. The carried state's size is recorded (``sessionflow_practice_state_bytes``) at
continue-as-new and as requests change it: after the first change of a run, then after every
``SIZE_EVERY_CHANGES`` changes or ``SIZE_EVERY`` of workflow time, whichever comes first.
Measuring serialises the whole state (~9 ms at 1,000 clients, ~45 ms at 5,000 on this 2-core
machine), so it is not done for every request of a burst; a practice's state grows by well under
1 KB per request, so the figure never lags by much.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from contract.metrics import (
        PRACTICE_OUTCOMES_FORGOTTEN_EARLY,
        PRACTICE_OUTCOMES_FORGOTTEN_EARLY_HELP,
        PRACTICE_STATE_BYTES,
        PRACTICE_STATE_BYTES_HELP,
    )
    from contract.practice import PRACTICE_WORKFLOW_TYPE
    from contract.search_attributes import PAYMENT_ACCOUNT_ID
    from domain import practice as rules
    from domain import practice_notices as notices
    from domain.errors import RuleViolation
    from domain.notifications import Notification
    from domain.practice import (
        AccountStatusRecorded,
        BookingTimeCheck,
        BookingTimeQuery,
        ClaimTime,
        ClientRegistered,
        ClientsList,
        ClientsQuery,
        EndRelationship,
        OccurrencesQuery,
        PaymentAccountSet,
        PaymentAccountView,
        PracticeState,
        PracticeWorkflowInput,
        RecordAccountStatus,
        RegisterClient,
        RelationshipEnded,
        RelationshipRestarted,
        ReleaseSlots,
        ReleaseTime,
        ReserveSlot,
        RestartRelationship,
        SetPaymentAccount,
        SlotOccurrences,
        SlotReserved,
        SlotsReleased,
        TimeClaimed,
        TimeReleased,
    )
    from workflows.calls import deliver, refused
    from workflows.patches import PRACTICE_ANNOUNCES_DASHBOARD_ACTIONS, PRACTICE_PAYMENT_ACCOUNT

__all__ = ["PracticeWorkflow", "PracticeWorkflowInput"]

ResultT = TypeVar("ResultT", bound=BaseModel)

SIZE_EVERY_CHANGES = 100
SIZE_EVERY = timedelta(hours=1)


def _current_update() -> tuple[str, str]:
    info = workflow.current_update_info()
    assert info is not None, "only called from update handlers and validators"
    return info.id, info.name


@workflow.defn(name=PRACTICE_WORKFLOW_TYPE)
class PracticeWorkflow:
    @workflow.init
    def __init__(self, workflow_input: PracticeWorkflowInput) -> None:
        if workflow_input.state is not None:
            self._state = workflow_input.state
        else:
            self._state = rules.new_practice_state(workflow_input.therapist_id, workflow_input.timezone)
        self._changes_unmeasured = 0
        self._measured_at: datetime | None = None
        # Notifications of the therapist's dashboard actions, all delivered before continue-as-new.
        self._outbox: list[asyncio.Task[None]] = []

    @workflow.run
    async def run(self, workflow_input: PracticeWorkflowInput) -> None:
        # Nothing to do between commands: the handlers do all the work. The history grows with
        # every update, so hand over to a fresh run when the server says it is time.
        await workflow.wait_condition(lambda: workflow.info().is_continue_as_new_suggested())
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and all(task.done() for task in self._outbox)
        )
        rules.forget_expired_outcomes(self._state, workflow.now())
        size = self._record_state_size()
        workflow.logger.info(
            "practice continues as new",
            extra={
                "therapist_id": self._state.therapist_id,
                "history_length": workflow.info().get_current_history_length(),
                "state_bytes": size,
                "outcomes": len(self._state.outcomes),
            },
        )
        workflow.continue_as_new(
            PracticeWorkflowInput(
                therapist_id=self._state.therapist_id, timezone=self._state.timezone, state=self._state
            )
        )

    # ----------------------------------------------------------------------------- plumbing

    def _process(self, result_type: type[ResultT], apply: Callable[[], ResultT]) -> ResultT:
        """Apply a command once per request id; a repeated id returns the first outcome."""
        request_id, update = _current_update()
        try:
            recorded = rules.recorded_outcome(self._state, request_id, update)
            if recorded is not None:
                return result_type.model_validate(recorded)
            result = apply()
        except RuleViolation as violation:
            raise refused(violation) from violation
        forgotten = rules.remember_outcome(self._state, request_id, update, result, workflow.now())
        if forgotten:
            workflow.logger.warning(
                "practice forgot request outcomes early: a burst reached the safety cap",
                extra={"therapist_id": self._state.therapist_id, "forgotten": forgotten},
            )
            workflow.metric_meter().create_counter(
                PRACTICE_OUTCOMES_FORGOTTEN_EARLY, PRACTICE_OUTCOMES_FORGOTTEN_EARLY_HELP
            ).add(forgotten)
        self._changes_unmeasured += 1
        if not workflow.unsafe.is_replaying() and (
            self._measured_at is None
            or self._changes_unmeasured >= SIZE_EVERY_CHANGES
            or workflow.now() - self._measured_at >= SIZE_EVERY
        ):
            self._record_state_size()
        return result

    def _record_state_size(self) -> int:
        """The state's serialised size (what continue-as-new carries), recorded as a metric. Neither
        changes the workflow's commands; nothing is recorded while replaying."""
        size = len(self._state.model_dump_json())
        self._changes_unmeasured, self._measured_at = 0, workflow.now()
        workflow.metric_meter().create_histogram(
            PRACTICE_STATE_BYTES, PRACTICE_STATE_BYTES_HELP, "By"
        ).record(size)
        return size

    def _announce(self, announce: bool, build: Callable[[], list[Notification]]) -> None:
        """Tell the parties of a dashboard action (``announce``: the API's commands only). A new
        command in running practices, hence the patch; a repeated request id announces the same
        event ids again, which the backend drops."""
        if not announce or not workflow.patched(PRACTICE_ANNOUNCES_DASHBOARD_ACTIONS):
            return
        for notification in build():
            self._outbox.append(asyncio.create_task(deliver(notification)))

    def _validate(self, check: Callable[[], None] | None = None) -> None:
        """Reject before history what the handler would refuse; a repeated request id passes."""
        request_id, update = _current_update()
        try:
            if rules.recorded_outcome(self._state, request_id, update) is not None:
                return
            if check is not None:
                check()
        except RuleViolation as violation:
            raise refused(violation) from violation

    # ----------------------------------------------------------------------------- updates

    @workflow.update
    def register_client(self, command: RegisterClient) -> ClientRegistered:
        return self._process(
            ClientRegistered, lambda: rules.register_client(self._state, command, workflow.now())
        )

    @register_client.validator
    def _validate_register_client(self, command: RegisterClient) -> None:
        self._validate(lambda: rules.check_register_client(self._state, command, workflow.now()))

    @workflow.update
    def reserve_slot(self, command: ReserveSlot) -> SlotReserved:
        def apply() -> SlotReserved:
            slot_id = rules.slot_id_from_hex(workflow.uuid4().hex)
            result = rules.reserve_slot(self._state, command, workflow.now(), slot_id=slot_id)
            workflow.logger.info(
                "slot reserved",
                extra={
                    "therapist_id": self._state.therapist_id,
                    "slot_id": result.slot_id,
                    "already_reserved": result.already_reserved,
                    "replaced_slot_id": result.replaced_slot_id,
                },
            )
            return result

        result = self._process(SlotReserved, apply)
        therapist_id = self._state.therapist_id
        self._announce(
            command.announce,
            lambda: notices.slot_reserved_notifications(therapist_id, result, workflow.now()),
        )
        return result

    @reserve_slot.validator
    def _validate_reserve_slot(self, command: ReserveSlot) -> None:
        self._validate(lambda: rules.check_reserve_slot(self._state, command, workflow.now()))

    @workflow.update
    def claim_time(self, command: ClaimTime) -> TimeClaimed:
        def apply() -> TimeClaimed:
            slot_id = rules.slot_id_from_hex(workflow.uuid4().hex)
            return rules.claim_time(self._state, command, workflow.now(), slot_id=slot_id)

        return self._process(TimeClaimed, apply)

    @claim_time.validator
    def _validate_claim_time(self, command: ClaimTime) -> None:
        self._validate(lambda: rules.check_claim_time(self._state, command, workflow.now()))

    @workflow.update
    def release_time(self, command: ReleaseTime) -> TimeReleased:
        return self._process(TimeReleased, lambda: rules.release_time(self._state, command, workflow.now()))

    @release_time.validator
    def _validate_release_time(self, command: ReleaseTime) -> None:
        self._validate()

    @workflow.update
    def release_slots(self, command: ReleaseSlots) -> SlotsReleased:
        result = self._process(
            SlotsReleased, lambda: rules.release_slots(self._state, command, workflow.now())
        )
        therapist_id = self._state.therapist_id
        self._announce(
            command.announce, lambda: notices.slots_released_by(therapist_id, result, workflow.now())
        )
        return result

    @release_slots.validator
    def _validate_release_slots(self, command: ReleaseSlots) -> None:
        self._validate()

    @workflow.update
    def end_relationship(self, command: EndRelationship) -> RelationshipEnded:
        result = self._process(
            RelationshipEnded, lambda: rules.end_relationship(self._state, command, workflow.now())
        )
        self._announce(
            command.announce,
            lambda: notices.relationship_ended_notifications(self._state, command, result, workflow.now()),
        )
        return result

    @end_relationship.validator
    def _validate_end_relationship(self, command: EndRelationship) -> None:
        self._validate()

    @workflow.update
    def restart_relationship(self, command: RestartRelationship) -> RelationshipRestarted:
        return self._process(
            RelationshipRestarted, lambda: rules.restart_relationship(self._state, command, workflow.now())
        )

    @restart_relationship.validator
    def _validate_restart_relationship(self, command: RestartRelationship) -> None:
        self._validate()

    @workflow.update
    def set_payment_account(self, command: SetPaymentAccount) -> PaymentAccountSet:
        result = self._process(
            PaymentAccountSet, lambda: rules.set_payment_account(self._state, command, workflow.now())
        )
        # Published so the Stripe webhook route finds this practice by an account's id. The
        # update is new (no history before it holds one), the upsert a new command: gated all
        # the same, as every change to a practice's commands is.
        if result.changed and workflow.patched(PRACTICE_PAYMENT_ACCOUNT):
            workflow.upsert_search_attributes([PAYMENT_ACCOUNT_ID.value_set(result.account_id)])
        workflow.logger.info(
            "payment account set",
            extra={"therapist_id": self._state.therapist_id, "account_id": result.account_id},
        )
        return result

    @set_payment_account.validator
    def _validate_set_payment_account(self, command: SetPaymentAccount) -> None:
        self._validate()

    @workflow.update
    def record_account_status(self, command: RecordAccountStatus) -> AccountStatusRecorded:
        result = self._process(
            AccountStatusRecorded, lambda: rules.record_account_status(self._state, command, workflow.now())
        )
        if result.change is not None:
            workflow.logger.info(
                "practice payments " + result.change.value,
                extra={
                    "therapist_id": self._state.therapist_id,
                    "account_id": result.account_id,
                    "disabled_reason": result.disabled_reason,
                },
            )
        if result.change is not None and workflow.patched(PRACTICE_PAYMENT_ACCOUNT):
            therapist_id = self._state.therapist_id
            for notification in notices.payments_paused_notifications(therapist_id, result, workflow.now()):
                self._outbox.append(asyncio.create_task(deliver(notification)))
        return result

    @record_account_status.validator
    def _validate_record_account_status(self, command: RecordAccountStatus) -> None:
        self._validate()

    # ----------------------------------------------------------------------------- queries

    @workflow.query
    def payment_account(self) -> PaymentAccountView:
        return rules.payment_account_view(self._state)

    @workflow.query
    def clients(self, query: ClientsQuery) -> ClientsList:
        return rules.list_clients(self._state, query)

    @workflow.query
    def occurrences(self, query: OccurrencesQuery) -> SlotOccurrences:
        return rules.slot_occurrences(self._state, query)

    @workflow.query
    def booking_time(self, query: BookingTimeQuery) -> BookingTimeCheck:
        return rules.check_booking_time(self._state, query)

    @workflow.query
    def state(self) -> PracticeState:
        return self._state.model_copy(deep=True)
