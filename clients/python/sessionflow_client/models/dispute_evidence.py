from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="DisputeEvidence")


@_attrs_define
class DisputeEvidence:
    """Stripe's ``dispute.evidence`` text fields that the history can fill (the others stay empty).

    Attributes:
        product_description (str):
        service_date (str):
        cancellation_policy_disclosure (str):
        refund_policy_disclosure (str):
        uncategorized_text (str):
        cancellation_rebuttal (None | str | Unset):
        refund_refusal_explanation (None | str | Unset):
    """

    product_description: str
    service_date: str
    cancellation_policy_disclosure: str
    refund_policy_disclosure: str
    uncategorized_text: str
    cancellation_rebuttal: None | str | Unset = UNSET
    refund_refusal_explanation: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        product_description = self.product_description

        service_date = self.service_date

        cancellation_policy_disclosure = self.cancellation_policy_disclosure

        refund_policy_disclosure = self.refund_policy_disclosure

        uncategorized_text = self.uncategorized_text

        cancellation_rebuttal: None | str | Unset
        if isinstance(self.cancellation_rebuttal, Unset):
            cancellation_rebuttal = UNSET
        else:
            cancellation_rebuttal = self.cancellation_rebuttal

        refund_refusal_explanation: None | str | Unset
        if isinstance(self.refund_refusal_explanation, Unset):
            refund_refusal_explanation = UNSET
        else:
            refund_refusal_explanation = self.refund_refusal_explanation

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "product_description": product_description,
                "service_date": service_date,
                "cancellation_policy_disclosure": cancellation_policy_disclosure,
                "refund_policy_disclosure": refund_policy_disclosure,
                "uncategorized_text": uncategorized_text,
            }
        )
        if cancellation_rebuttal is not UNSET:
            field_dict["cancellation_rebuttal"] = cancellation_rebuttal
        if refund_refusal_explanation is not UNSET:
            field_dict["refund_refusal_explanation"] = refund_refusal_explanation

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        product_description = d.pop("product_description")

        service_date = d.pop("service_date")

        cancellation_policy_disclosure = d.pop("cancellation_policy_disclosure")

        refund_policy_disclosure = d.pop("refund_policy_disclosure")

        uncategorized_text = d.pop("uncategorized_text")

        def _parse_cancellation_rebuttal(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        cancellation_rebuttal = _parse_cancellation_rebuttal(d.pop("cancellation_rebuttal", UNSET))

        def _parse_refund_refusal_explanation(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        refund_refusal_explanation = _parse_refund_refusal_explanation(d.pop("refund_refusal_explanation", UNSET))

        dispute_evidence = cls(
            product_description=product_description,
            service_date=service_date,
            cancellation_policy_disclosure=cancellation_policy_disclosure,
            refund_policy_disclosure=refund_policy_disclosure,
            uncategorized_text=uncategorized_text,
            cancellation_rebuttal=cancellation_rebuttal,
            refund_refusal_explanation=refund_refusal_explanation,
        )

        dispute_evidence.additional_properties = d
        return dispute_evidence

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
