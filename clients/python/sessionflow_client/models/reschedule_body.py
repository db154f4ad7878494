from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.actor import Actor

T = TypeVar("T", bound="RescheduleBody")


@_attrs_define
class RescheduleBody:
    """
    Attributes:
        requested_by (Actor):
        new_start (datetime.datetime): Must be in the future (`409 start_in_past`), at most 366 days ahead (the booking
            horizon: `409 start_too_far`) and differ from the current start (`409 same_start`). Any future instant within
            366 days (the example's date is only an example: replace it with one in that range).
    """

    requested_by: Actor
    new_start: datetime.datetime

    def to_dict(self) -> dict[str, Any]:
        requested_by = self.requested_by.value

        new_start = self.new_start.isoformat()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "requested_by": requested_by,
                "new_start": new_start,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        requested_by = Actor(d.pop("requested_by"))

        new_start = datetime.datetime.fromisoformat(d.pop("new_start"))

        reschedule_body = cls(
            requested_by=requested_by,
            new_start=new_start,
        )

        return reschedule_body
