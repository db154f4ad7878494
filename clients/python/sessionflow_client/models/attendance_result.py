from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.session_status import SessionStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="AttendanceResult")


@_attrs_define
class AttendanceResult:
    """
    Attributes:
        session_id (str):
        status (SessionStatus): Where a session stands.
        follow_up_session_id (None | str | Unset):
        follow_up_start (datetime.datetime | None | Unset):
        reserved_slot_id (None | str | Unset):
        released_slot_ids (list[str] | Unset):
        slot_released (bool | Unset):  Default: False.
        relationship_ended (bool | Unset):  Default: False.
        cancelled_session_ids (list[str] | Unset):
        refund_minor (int | Unset):  Default: 0.
        incomplete_effects (list[str] | Unset):
    """

    session_id: str
    status: SessionStatus
    follow_up_session_id: None | str | Unset = UNSET
    follow_up_start: datetime.datetime | None | Unset = UNSET
    reserved_slot_id: None | str | Unset = UNSET
    released_slot_ids: list[str] | Unset = UNSET
    slot_released: bool | Unset = False
    relationship_ended: bool | Unset = False
    cancelled_session_ids: list[str] | Unset = UNSET
    refund_minor: int | Unset = 0
    incomplete_effects: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        session_id = self.session_id

        status = self.status.value

        follow_up_session_id: None | str | Unset
        if isinstance(self.follow_up_session_id, Unset):
            follow_up_session_id = UNSET
        else:
            follow_up_session_id = self.follow_up_session_id

        follow_up_start: None | str | Unset
        if isinstance(self.follow_up_start, Unset):
            follow_up_start = UNSET
        elif isinstance(self.follow_up_start, datetime.datetime):
            follow_up_start = self.follow_up_start.isoformat()
        else:
            follow_up_start = self.follow_up_start

        reserved_slot_id: None | str | Unset
        if isinstance(self.reserved_slot_id, Unset):
            reserved_slot_id = UNSET
        else:
            reserved_slot_id = self.reserved_slot_id

        released_slot_ids: list[str] | Unset = UNSET
        if not isinstance(self.released_slot_ids, Unset):
            released_slot_ids = self.released_slot_ids

        slot_released = self.slot_released

        relationship_ended = self.relationship_ended

        cancelled_session_ids: list[str] | Unset = UNSET
        if not isinstance(self.cancelled_session_ids, Unset):
            cancelled_session_ids = self.cancelled_session_ids

        refund_minor = self.refund_minor

        incomplete_effects: list[str] | Unset = UNSET
        if not isinstance(self.incomplete_effects, Unset):
            incomplete_effects = self.incomplete_effects

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "session_id": session_id,
                "status": status,
            }
        )
        if follow_up_session_id is not UNSET:
            field_dict["follow_up_session_id"] = follow_up_session_id
        if follow_up_start is not UNSET:
            field_dict["follow_up_start"] = follow_up_start
        if reserved_slot_id is not UNSET:
            field_dict["reserved_slot_id"] = reserved_slot_id
        if released_slot_ids is not UNSET:
            field_dict["released_slot_ids"] = released_slot_ids
        if slot_released is not UNSET:
            field_dict["slot_released"] = slot_released
        if relationship_ended is not UNSET:
            field_dict["relationship_ended"] = relationship_ended
        if cancelled_session_ids is not UNSET:
            field_dict["cancelled_session_ids"] = cancelled_session_ids
        if refund_minor is not UNSET:
            field_dict["refund_minor"] = refund_minor
        if incomplete_effects is not UNSET:
            field_dict["incomplete_effects"] = incomplete_effects

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        session_id = d.pop("session_id")

        status = SessionStatus(d.pop("status"))

        def _parse_follow_up_session_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        follow_up_session_id = _parse_follow_up_session_id(d.pop("follow_up_session_id", UNSET))

        def _parse_follow_up_start(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                follow_up_start_type_0 = datetime.datetime.fromisoformat(data)

                return follow_up_start_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        follow_up_start = _parse_follow_up_start(d.pop("follow_up_start", UNSET))

        def _parse_reserved_slot_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        reserved_slot_id = _parse_reserved_slot_id(d.pop("reserved_slot_id", UNSET))

        released_slot_ids = cast(list[str], d.pop("released_slot_ids", UNSET))

        slot_released = d.pop("slot_released", UNSET)

        relationship_ended = d.pop("relationship_ended", UNSET)

        cancelled_session_ids = cast(list[str], d.pop("cancelled_session_ids", UNSET))

        refund_minor = d.pop("refund_minor", UNSET)

        incomplete_effects = cast(list[str], d.pop("incomplete_effects", UNSET))

        attendance_result = cls(
            session_id=session_id,
            status=status,
            follow_up_session_id=follow_up_session_id,
            follow_up_start=follow_up_start,
            reserved_slot_id=reserved_slot_id,
            released_slot_ids=released_slot_ids,
            slot_released=slot_released,
            relationship_ended=relationship_ended,
            cancelled_session_ids=cancelled_session_ids,
            refund_minor=refund_minor,
            incomplete_effects=incomplete_effects,
        )

        attendance_result.additional_properties = d
        return attendance_result

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
