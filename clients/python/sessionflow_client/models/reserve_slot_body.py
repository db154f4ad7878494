from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.iana_zone import IanaZone

T = TypeVar("T", bound="ReserveSlotBody")


@_attrs_define
class ReserveSlotBody:
    """
    Attributes:
        client_id (str):
        weekday (int): 0 = Monday … 6 = Sunday
        local_time (str): wall-clock start in the therapist's zone, without an offset
        duration_minutes (int):
        timezone (IanaZone): an IANA time zone name of the service's pinned tzdata release
    """

    client_id: str
    weekday: int
    local_time: str
    duration_minutes: int
    timezone: IanaZone

    def to_dict(self) -> dict[str, Any]:
        client_id = self.client_id

        weekday = self.weekday

        local_time = self.local_time

        duration_minutes = self.duration_minutes

        timezone = self.timezone.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "client_id": client_id,
                "weekday": weekday,
                "local_time": local_time,
                "duration_minutes": duration_minutes,
                "timezone": timezone,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        client_id = d.pop("client_id")

        weekday = d.pop("weekday")

        local_time = d.pop("local_time")

        duration_minutes = d.pop("duration_minutes")

        timezone = IanaZone(d.pop("timezone"))

        reserve_slot_body = cls(
            client_id=client_id,
            weekday=weekday,
            local_time=local_time,
            duration_minutes=duration_minutes,
            timezone=timezone,
        )

        return reserve_slot_body
