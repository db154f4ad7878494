from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.actor import Actor
from ..models.attendance_outcome import AttendanceOutcome
from ..models.continue_choice import ContinueChoice
from ..models.end_reason import EndReason
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.acting_party import ActingParty


T = TypeVar("T", bound="AttendanceUpdate")


@_attrs_define
class AttendanceUpdate:
    """The attendance update as recorded. A self-contradictory update is refused (`409` with the
    rule's code — `new_start_required`, `new_start_not_allowed`, `end_reason_required`,
    `contradictory_update` — naming the field) before any rule about the session is consulted.

        Attributes:
            outcome (AttendanceOutcome):
            continue_sessions (ContinueChoice | Unset):
            new_start (datetime.datetime | None | Unset):
            client_agreed (bool | Unset):  Default: False.
            reserve_slot (bool | Unset):  Default: False.
            end_relationship (bool | Unset):  Default: False.
            end_reason (EndReason | None | Unset):
            cancel_future_sessions (bool | Unset):  Default: False.
            refund (bool | Unset):  Default: False.
            refund_amount_minor (int | None | Unset):
            submitted_by (Actor | Unset):
            received_at (datetime.datetime | None | Unset):
            acting_party (ActingParty | None | Unset):
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
    submitted_by: Actor | Unset = UNSET
    received_at: datetime.datetime | None | Unset = UNSET
    acting_party: ActingParty | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.acting_party import ActingParty  # noqa: PLC0415

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

        submitted_by: str | Unset = UNSET
        if not isinstance(self.submitted_by, Unset):
            submitted_by = self.submitted_by.value

        received_at: None | str | Unset
        if isinstance(self.received_at, Unset):
            received_at = UNSET
        elif isinstance(self.received_at, datetime.datetime):
            received_at = self.received_at.isoformat()
        else:
            received_at = self.received_at

        acting_party: dict[str, Any] | None | Unset
        if isinstance(self.acting_party, Unset):
            acting_party = UNSET
        elif isinstance(self.acting_party, ActingParty):
            acting_party = self.acting_party.to_dict()
        else:
            acting_party = self.acting_party

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
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
        if received_at is not UNSET:
            field_dict["received_at"] = received_at
        if acting_party is not UNSET:
            field_dict["acting_party"] = acting_party

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.acting_party import ActingParty  # noqa: PLC0415

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

        _submitted_by = d.pop("submitted_by", UNSET)
        submitted_by: Actor | Unset
        if isinstance(_submitted_by, Unset):
            submitted_by = UNSET
        else:
            submitted_by = Actor(_submitted_by)

        def _parse_received_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                received_at_type_0 = datetime.datetime.fromisoformat(data)

                return received_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        received_at = _parse_received_at(d.pop("received_at", UNSET))

        def _parse_acting_party(data: object) -> ActingParty | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                acting_party_type_0 = ActingParty.from_dict(data)

                return acting_party_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ActingParty | None | Unset, data)

        acting_party = _parse_acting_party(d.pop("acting_party", UNSET))

        attendance_update = cls(
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
            received_at=received_at,
            acting_party=acting_party,
        )

        attendance_update.additional_properties = d
        return attendance_update

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
