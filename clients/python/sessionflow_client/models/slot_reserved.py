from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.weekly_slot_rule import WeeklySlotRule


T = TypeVar("T", bound="SlotReserved")


@_attrs_define
class SlotReserved:
    """
    Attributes:
        slot_id (str):
        client_id (str):
        rule (WeeklySlotRule): A weekly wall-clock interval in the therapist's zone; the zone itself is held by the
            owner.
        already_reserved (bool | Unset):  Default: False.
        replaced_slot_id (None | str | Unset):
    """

    slot_id: str
    client_id: str
    rule: WeeklySlotRule
    already_reserved: bool | Unset = False
    replaced_slot_id: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        slot_id = self.slot_id

        client_id = self.client_id

        rule = self.rule.to_dict()

        already_reserved = self.already_reserved

        replaced_slot_id: None | str | Unset
        if isinstance(self.replaced_slot_id, Unset):
            replaced_slot_id = UNSET
        else:
            replaced_slot_id = self.replaced_slot_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "slot_id": slot_id,
                "client_id": client_id,
                "rule": rule,
            }
        )
        if already_reserved is not UNSET:
            field_dict["already_reserved"] = already_reserved
        if replaced_slot_id is not UNSET:
            field_dict["replaced_slot_id"] = replaced_slot_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.weekly_slot_rule import WeeklySlotRule  # noqa: PLC0415

        d = dict(src_dict)
        slot_id = d.pop("slot_id")

        client_id = d.pop("client_id")

        rule = WeeklySlotRule.from_dict(d.pop("rule"))

        already_reserved = d.pop("already_reserved", UNSET)

        def _parse_replaced_slot_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        replaced_slot_id = _parse_replaced_slot_id(d.pop("replaced_slot_id", UNSET))

        slot_reserved = cls(
            slot_id=slot_id,
            client_id=client_id,
            rule=rule,
            already_reserved=already_reserved,
            replaced_slot_id=replaced_slot_id,
        )

        slot_reserved.additional_properties = d
        return slot_reserved

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
