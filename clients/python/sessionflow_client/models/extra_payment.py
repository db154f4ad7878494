from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ExtraPayment")


@_attrs_define
class ExtraPayment:
    """A PaymentIntent of this session that succeeded although the session is paid with another
    (a try that went unanswered in an outage went through, and a later one charged too): the
    client paid twice, so it is refunded in full and announced as a refund.

        Attributes:
            payment_intent_id (str):
            refunded_minor (int | Unset):  Default: 0.
            announced_minor (int | Unset):  Default: 0.
            refunded (bool | Unset):  Default: False.
    """

    payment_intent_id: str
    refunded_minor: int | Unset = 0
    announced_minor: int | Unset = 0
    refunded: bool | Unset = False
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        payment_intent_id = self.payment_intent_id

        refunded_minor = self.refunded_minor

        announced_minor = self.announced_minor

        refunded = self.refunded

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "payment_intent_id": payment_intent_id,
            }
        )
        if refunded_minor is not UNSET:
            field_dict["refunded_minor"] = refunded_minor
        if announced_minor is not UNSET:
            field_dict["announced_minor"] = announced_minor
        if refunded is not UNSET:
            field_dict["refunded"] = refunded

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        payment_intent_id = d.pop("payment_intent_id")

        refunded_minor = d.pop("refunded_minor", UNSET)

        announced_minor = d.pop("announced_minor", UNSET)

        refunded = d.pop("refunded", UNSET)

        extra_payment = cls(
            payment_intent_id=payment_intent_id,
            refunded_minor=refunded_minor,
            announced_minor=announced_minor,
            refunded=refunded,
        )

        extra_payment.additional_properties = d
        return extra_payment

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
