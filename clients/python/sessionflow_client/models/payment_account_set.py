from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="PaymentAccountSet")


@_attrs_define
class PaymentAccountSet:
    """
    Attributes:
        account_id (str):
        changed (bool):
        paused (bool):
        previous_account_id (None | str | Unset):
    """

    account_id: str
    changed: bool
    paused: bool
    previous_account_id: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        account_id = self.account_id

        changed = self.changed

        paused = self.paused

        previous_account_id: None | str | Unset
        if isinstance(self.previous_account_id, Unset):
            previous_account_id = UNSET
        else:
            previous_account_id = self.previous_account_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "account_id": account_id,
                "changed": changed,
                "paused": paused,
            }
        )
        if previous_account_id is not UNSET:
            field_dict["previous_account_id"] = previous_account_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        account_id = d.pop("account_id")

        changed = d.pop("changed")

        paused = d.pop("paused")

        def _parse_previous_account_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        previous_account_id = _parse_previous_account_id(d.pop("previous_account_id", UNSET))

        payment_account_set = cls(
            account_id=account_id,
            changed=changed,
            paused=paused,
            previous_account_id=previous_account_id,
        )

        payment_account_set.additional_properties = d
        return payment_account_set

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
