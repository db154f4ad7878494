from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.actor import Actor
from ..models.attendance_outcome import AttendanceOutcome
from ..models.continue_choice import ContinueChoice
from ..models.end_reason import EndReason
from ..types import UNSET, Unset

T = TypeVar("T", bound="AttendanceBody")


@_attrs_define
class AttendanceBody:
    """The rules across these fields are checked after the body's shape: a body that breaks one is
    refused with `409` and the rule's code, stated on each field below.

        Attributes:
            outcome (AttendanceOutcome):
            continue_sessions (ContinueChoice | Unset):
            new_start (datetime.datetime | None | Unset): The follow-up's start: required with `continue_sessions:
                different_time` (`409 new_start_required`), refused with any other choice (`409 new_start_not_allowed`).
            client_agreed (bool | Unset): The client agreed to the follow-up: required for any rebooking. Default: False.
            reserve_slot (bool | Unset): Keep the weekly time for the client; not with `end_relationship` (`409
                contradictory_update`). Default: False.
            end_relationship (bool | Unset): Needs `end_reason` (`409 end_reason_required`); not with a rebooking or
                `reserve_slot` (`409 contradictory_update`). Default: False.
            end_reason (EndReason | None | Unset): Required with `end_relationship: true` (`409 end_reason_required`).
            cancel_future_sessions (bool | Unset): Only with `end_relationship: true` (`409 contradictory_update`
                otherwise). Default: False.
            refund (bool | Unset):  Default: False.
            refund_amount_minor (int | None | Unset): How much to refund (minor units), absent: the whole payment. Only with
                `refund: true` (`409 contradictory_update` otherwise); never more than was captured.
            submitted_by (Actor | None | Unset): Must be the `Acting-Party`'s role, which is the default (another role: `409
                submitter_not_acting_party`); a client is `409 not_allowed`.
    """

    outcome: AttendanceOutcome
    continue_sessions: ContinueChoice | Unset = UNSET
    new_start: datetime.datetime | None | Unset = UNSET
    client_agreed: bool | Unset = False
    reserve_slot: bool | Unset = False
    end_relationship: bool | Unset = False
    end_reason: EndReason | None | Unset = UNSET
    cancel_future_sessions: bool | Unset = False
    refund: bool | Unset = False
    refund_amount_minor: int | None | Unset = UNSET
    submitted_by: Actor | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        outcome = self.outcome.value

        continue_sessions: str | Unset = UNSET
        if not isinstance(self.continue_sessions, Unset):
            continue_sessions = self.continue_sessions.value

        new_start: None | str | Unset
        if isinstance(self.new_start, Unset):
            new_start = UNSET
        elif isinstance(self.new_start, datetime.datetime):
            new_start = self.new_start.isoformat()
        else:
            new_start = self.new_start

        client_agreed = self.client_agreed

        reserve_slot = self.reserve_slot

        end_relationship = self.end_relationship

        end_reason: None | str | Unset
        if isinstance(self.end_reason, Unset):
            end_reason = UNSET
        elif isinstance(self.end_reason, EndReason):
            end_reason = self.end_reason.value
        else:
            end_reason = self.end_reason

        cancel_future_sessions = self.cancel_future_sessions

        refund = self.refund

        refund_amount_minor: int | None | Unset
        if isinstance(self.refund_amount_minor, Unset):
            refund_amount_minor = UNSET
        else:
            refund_amount_minor = self.refund_amount_minor

        submitted_by: None | str | Unset
        if isinstance(self.submitted_by, Unset):
            submitted_by = UNSET
        elif isinstance(self.submitted_by, Actor):
            submitted_by = self.submitted_by.value
        else:
            submitted_by = self.submitted_by

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "outcome": outcome,
            }
        )
        if continue_sessions is not UNSET:
            field_dict["continue_sessions"] = continue_sessions
        if new_start is not UNSET:
            field_dict["new_start"] = new_start
        if client_agreed is not UNSET:
            field_dict["client_agreed"] = client_agreed
        if reserve_slot is not UNSET:
            field_dict["reserve_slot"] = reserve_slot
        if end_relationship is not UNSET:
            field_dict["end_relationship"] = end_relationship
        if end_reason is not UNSET:
            field_dict["end_reason"] = end_reason
        if cancel_future_sessions is not UNSET:
            field_dict["cancel_future_sessions"] = cancel_future_sessions
        if refund is not UNSET:
            field_dict["refund"] = refund
        if refund_amount_minor is not UNSET:
            field_dict["refund_amount_minor"] = refund_amount_minor
        if submitted_by is not UNSET:
            field_dict["submitted_by"] = submitted_by

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        outcome = AttendanceOutcome(d.pop("outcome"))

        _continue_sessions = d.pop("continue_sessions", UNSET)
        continue_sessions: ContinueChoice | Unset
        if isinstance(_continue_sessions, Unset):
            continue_sessions = UNSET
        else:
            continue_sessions = ContinueChoice(_continue_sessions)

        def _parse_new_start(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                new_start_type_0 = datetime.datetime.fromisoformat(data)

                return new_start_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        new_start = _parse_new_start(d.pop("new_start", UNSET))

        client_agreed = d.pop("client_agreed", UNSET)

        reserve_slot = d.pop("reserve_slot", UNSET)

        end_relationship = d.pop("end_relationship", UNSET)

        def _parse_end_reason(data: object) -> EndReason | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                end_reason_type_0 = EndReason(data)

                return end_reason_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(EndReason | None | Unset, data)

        end_reason = _parse_end_reason(d.pop("end_reason", UNSET))

        cancel_future_sessions = d.pop("cancel_future_sessions", UNSET)

        refund = d.pop("refund", UNSET)

        def _parse_refund_amount_minor(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        refund_amount_minor = _parse_refund_amount_minor(d.pop("refund_amount_minor", UNSET))

        def _parse_submitted_by(data: object) -> Actor | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                submitted_by_type_0 = Actor(data)

                return submitted_by_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Actor | None | Unset, data)

        submitted_by = _parse_submitted_by(d.pop("submitted_by", UNSET))

        attendance_body = cls(
            outcome=outcome,
            continue_sessions=continue_sessions,
            new_start=new_start,
            client_agreed=client_agreed,
            reserve_slot=reserve_slot,
            end_relationship=end_relationship,
            end_reason=end_reason,
            cancel_future_sessions=cancel_future_sessions,
            refund=refund,
            refund_amount_minor=refund_amount_minor,
            submitted_by=submitted_by,
        )

        return attendance_body
