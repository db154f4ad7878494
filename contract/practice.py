"""The practice workflow (one per therapist) as its callers see it: type name, handle, updates,
queries. tests/unit/test_contract.py fails when ``PracticeWorkflow`` and this module disagree."""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowHandle

from contract.messages import NO_ARGUMENT, Query, Update
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

PRACTICE_WORKFLOW_TYPE = "PracticeWorkflow"

PracticeHandle = WorkflowHandle[Any, None]
"""A practice workflow's handle (it never returns: it continues as new)."""

PRACTICE_REGISTER_CLIENT = Update("register_client", RegisterClient, ClientRegistered)
PRACTICE_RESERVE_SLOT = Update("reserve_slot", ReserveSlot, SlotReserved)
PRACTICE_RELEASE_SLOTS = Update("release_slots", ReleaseSlots, SlotsReleased)
PRACTICE_END_RELATIONSHIP = Update("end_relationship", EndRelationship, RelationshipEnded)
PRACTICE_RESTART_RELATIONSHIP = Update("restart_relationship", RestartRelationship, RelationshipRestarted)
PRACTICE_CLAIM_TIME = Update("claim_time", ClaimTime, TimeClaimed)
PRACTICE_RELEASE_TIME = Update("release_time", ReleaseTime, TimeReleased)
PRACTICE_SET_PAYMENT_ACCOUNT = Update("set_payment_account", SetPaymentAccount, PaymentAccountSet)
PRACTICE_RECORD_ACCOUNT_STATUS = Update("record_account_status", RecordAccountStatus, AccountStatusRecorded)
PRACTICE_PAYMENT_ACCOUNT = Query("payment_account", NO_ARGUMENT, PaymentAccountView)
PRACTICE_CLIENTS = Query("clients", ClientsQuery, ClientsList)
PRACTICE_OCCURRENCES = Query("occurrences", OccurrencesQuery, SlotOccurrences)
PRACTICE_BOOKING_TIME = Query("booking_time", BookingTimeQuery, BookingTimeCheck)
PRACTICE_STATE = Query("state", NO_ARGUMENT, PracticeState)

PRACTICE_UPDATES: tuple[Update[Any, Any], ...] = (
    PRACTICE_REGISTER_CLIENT,
    PRACTICE_RESERVE_SLOT,
    PRACTICE_RELEASE_SLOTS,
    PRACTICE_END_RELATIONSHIP,
    PRACTICE_RESTART_RELATIONSHIP,
    PRACTICE_CLAIM_TIME,
    PRACTICE_RELEASE_TIME,
    PRACTICE_SET_PAYMENT_ACCOUNT,
    PRACTICE_RECORD_ACCOUNT_STATUS,
)
PRACTICE_QUERIES: tuple[Query[Any, Any], ...] = (
    PRACTICE_CLIENTS,
    PRACTICE_OCCURRENCES,
    PRACTICE_BOOKING_TIME,
    PRACTICE_STATE,
    PRACTICE_PAYMENT_ACCOUNT,
)
