from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="CommissionRates")


@_attrs_define
class CommissionRates:
    """The marketplace's commission rates the session was booked under (fixed at booking).

    Attributes:
        first_session_bp (int | Unset):  Default: 10000.
        follow_up_bp (int | Unset):  Default: 1000.
        vat_bp (int | Unset):  Default: 2000.
        discretionary_refund_returns_fee (bool | Unset):  Default: False.
    """

    first_session_bp: int | Unset = 10000
    follow_up_bp: int | Unset = 1000
    vat_bp: int | Unset = 2000
    discretionary_refund_returns_fee: bool | Unset = False
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        first_session_bp = self.first_session_bp

        follow_up_bp = self.follow_up_bp

        vat_bp = self.vat_bp

        discretionary_refund_returns_fee = self.discretionary_refund_returns_fee

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if first_session_bp is not UNSET:
            field_dict["first_session_bp"] = first_session_bp
        if follow_up_bp is not UNSET:
            field_dict["follow_up_bp"] = follow_up_bp
        if vat_bp is not UNSET:
            field_dict["vat_bp"] = vat_bp
        if discretionary_refund_returns_fee is not UNSET:
            field_dict["discretionary_refund_returns_fee"] = discretionary_refund_returns_fee

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        first_session_bp = d.pop("first_session_bp", UNSET)

        follow_up_bp = d.pop("follow_up_bp", UNSET)

        vat_bp = d.pop("vat_bp", UNSET)

        discretionary_refund_returns_fee = d.pop("discretionary_refund_returns_fee", UNSET)

        commission_rates = cls(
            first_session_bp=first_session_bp,
            follow_up_bp=follow_up_bp,
            vat_bp=vat_bp,
            discretionary_refund_returns_fee=discretionary_refund_returns_fee,
        )

        commission_rates.additional_properties = d
        return commission_rates

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
