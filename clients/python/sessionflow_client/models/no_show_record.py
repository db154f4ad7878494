from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.actor import Actor

T = TypeVar("T", bound="NoShowRecord")


@_attrs_define
class NoShowRecord:
    """The therapist marked the client as not attending, before the full attendance update.

    Attributes:
        requested_by (Actor):
        at (datetime.datetime):
    """

    requested_by: Actor
    at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        requested_by = self.requested_by.value

        at = self.at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "requested_by": requested_by,
                "at": at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        requested_by = Actor(d.pop("requested_by"))

        at = datetime.datetime.fromisoformat(d.pop("at"))

        no_show_record = cls(
            requested_by=requested_by,
            at=at,
        )

        no_show_record.additional_properties = d
        return no_show_record

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
