from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="RefundRecord")


@_attrs_define
class RefundRecord:
    """
    Attributes:
        number (int):
        refund_id (None | str):
        amount_minor (int):
        at (datetime.datetime):
    """

    number: int
    refund_id: None | str
    amount_minor: int
    at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        number = self.number

        refund_id: None | str
        refund_id = self.refund_id

        amount_minor = self.amount_minor

        at = self.at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "number": number,
                "refund_id": refund_id,
                "amount_minor": amount_minor,
                "at": at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        number = d.pop("number")

        def _parse_refund_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        refund_id = _parse_refund_id(d.pop("refund_id"))

        amount_minor = d.pop("amount_minor")

        at = datetime.datetime.fromisoformat(d.pop("at"))

        refund_record = cls(
            number=number,
            refund_id=refund_id,
            amount_minor=amount_minor,
            at=at,
        )

        refund_record.additional_properties = d
        return refund_record

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
