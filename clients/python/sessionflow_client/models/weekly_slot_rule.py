from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="WeeklySlotRule")


@_attrs_define
class WeeklySlotRule:
    """A weekly wall-clock interval in the therapist's zone; the zone itself is held by the owner.

    Attributes:
        weekday (int):
        local_time (str):
        duration_minutes (int):
    """

    weekday: int
    local_time: str
    duration_minutes: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        weekday = self.weekday

        local_time = self.local_time

        duration_minutes = self.duration_minutes

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "weekday": weekday,
                "local_time": local_time,
                "duration_minutes": duration_minutes,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        weekday = d.pop("weekday")

        local_time = d.pop("local_time")

        duration_minutes = d.pop("duration_minutes")

        weekly_slot_rule = cls(
            weekday=weekday,
            local_time=local_time,
            duration_minutes=duration_minutes,
        )

        weekly_slot_rule.additional_properties = d
        return weekly_slot_rule

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
