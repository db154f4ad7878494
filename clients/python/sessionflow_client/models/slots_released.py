from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="SlotsReleased")


@_attrs_define
class SlotsReleased:
    """
    Attributes:
        client_id (str):
        released_slot_ids (list[str] | Unset):
    """

    client_id: str
    released_slot_ids: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        client_id = self.client_id

        released_slot_ids: list[str] | Unset = UNSET
        if not isinstance(self.released_slot_ids, Unset):
            released_slot_ids = self.released_slot_ids

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "client_id": client_id,
            }
        )
        if released_slot_ids is not UNSET:
            field_dict["released_slot_ids"] = released_slot_ids

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        client_id = d.pop("client_id")

        released_slot_ids = cast(list[str], d.pop("released_slot_ids", UNSET))

        slots_released = cls(
            client_id=client_id,
            released_slot_ids=released_slot_ids,
        )

        slots_released.additional_properties = d
        return slots_released

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
