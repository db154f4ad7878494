from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.session_status import SessionStatus

T = TypeVar("T", bound="RescheduleResult")


@_attrs_define
class RescheduleResult:
    """
    Attributes:
        session_id (str):
        status (SessionStatus): Where a session stands.
        start (datetime.datetime):
        payment_carried (bool):
        next_charge_at (datetime.datetime | None):
    """

    session_id: str
    status: SessionStatus
    start: datetime.datetime
    payment_carried: bool
    next_charge_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        session_id = self.session_id

        status = self.status.value

        start = self.start.isoformat()

        payment_carried = self.payment_carried

        next_charge_at: None | str
        if isinstance(self.next_charge_at, datetime.datetime):
            next_charge_at = self.next_charge_at.isoformat()
        else:
            next_charge_at = self.next_charge_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "session_id": session_id,
                "status": status,
                "start": start,
                "payment_carried": payment_carried,
                "next_charge_at": next_charge_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        session_id = d.pop("session_id")

        status = SessionStatus(d.pop("status"))

        start = datetime.datetime.fromisoformat(d.pop("start"))

        payment_carried = d.pop("payment_carried")

        def _parse_next_charge_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                next_charge_at_type_0 = datetime.datetime.fromisoformat(data)

                return next_charge_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        next_charge_at = _parse_next_charge_at(d.pop("next_charge_at"))

        reschedule_result = cls(
            session_id=session_id,
            status=status,
            start=start,
            payment_carried=payment_carried,
            next_charge_at=next_charge_at,
        )

        reschedule_result.additional_properties = d
        return reschedule_result

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
