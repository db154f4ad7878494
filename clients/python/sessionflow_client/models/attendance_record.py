from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.attendance_update import AttendanceUpdate


T = TypeVar("T", bound="AttendanceRecord")


@_attrs_define
class AttendanceRecord:
    """
    Attributes:
        update (AttendanceUpdate): The attendance update as recorded. A self-contradictory update is refused (`409` with
            the
            rule's code — `new_start_required`, `new_start_not_allowed`, `end_reason_required`,
            `contradictory_update` — naming the field) before any rule about the session is consulted.
        at (datetime.datetime):
    """

    update: AttendanceUpdate
    at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        update = self.update.to_dict()

        at = self.at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "update": update,
                "at": at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.attendance_update import AttendanceUpdate  # noqa: PLC0415

        d = dict(src_dict)
        update = AttendanceUpdate.from_dict(d.pop("update"))

        at = datetime.datetime.fromisoformat(d.pop("at"))

        attendance_record = cls(
            update=update,
            at=at,
        )

        attendance_record.additional_properties = d
        return attendance_record

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
