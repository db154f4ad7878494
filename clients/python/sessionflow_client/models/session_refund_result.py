from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="SessionRefundResult")


@_attrs_define
class SessionRefundResult:
    """
    Attributes:
        session_id (str):
        grant_number (int):
        amount_minor (int):
        currency (str):
        refunded_total_minor (int):
        refundable_minor (int):
    """

    session_id: str
    grant_number: int
    amount_minor: int
    currency: str
    refunded_total_minor: int
    refundable_minor: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        session_id = self.session_id

        grant_number = self.grant_number

        amount_minor = self.amount_minor

        currency = self.currency

        refunded_total_minor = self.refunded_total_minor

        refundable_minor = self.refundable_minor

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "session_id": session_id,
                "grant_number": grant_number,
                "amount_minor": amount_minor,
                "currency": currency,
                "refunded_total_minor": refunded_total_minor,
                "refundable_minor": refundable_minor,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        session_id = d.pop("session_id")

        grant_number = d.pop("grant_number")

        amount_minor = d.pop("amount_minor")

        currency = d.pop("currency")

        refunded_total_minor = d.pop("refunded_total_minor")

        refundable_minor = d.pop("refundable_minor")

        session_refund_result = cls(
            session_id=session_id,
            grant_number=grant_number,
            amount_minor=amount_minor,
            currency=currency,
            refunded_total_minor=refunded_total_minor,
            refundable_minor=refundable_minor,
        )

        session_refund_result.additional_properties = d
        return session_refund_result

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
