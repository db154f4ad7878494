from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.actor import Actor
from ..models.refund_reason import RefundReason
from ..types import UNSET, Unset

T = TypeVar("T", bound="RefundGrant")


@_attrs_define
class RefundGrant:
    """A refund a therapist or admin granted (``refund``), in full or in part, with its reason code.

    Attributes:
        number (int):
        amount_minor (int):
        reason (RefundReason): Why a therapist or admin refunds a session, as a code: never free text.
        requested_by (Actor):
        at (datetime.datetime):
        covers_minor (int | Unset):  Default: 0.
        request_id (None | str | Unset):
        refunded_total_minor (int | Unset):  Default: 0.
        refundable_minor (int | Unset):  Default: 0.
    """

    number: int
    amount_minor: int
    reason: RefundReason
    requested_by: Actor
    at: datetime.datetime
    covers_minor: int | Unset = 0
    request_id: None | str | Unset = UNSET
    refunded_total_minor: int | Unset = 0
    refundable_minor: int | Unset = 0
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        number = self.number

        amount_minor = self.amount_minor

        reason = self.reason.value

        requested_by = self.requested_by.value

        at = self.at.isoformat()

        covers_minor = self.covers_minor

        request_id: None | str | Unset
        if isinstance(self.request_id, Unset):
            request_id = UNSET
        else:
            request_id = self.request_id

        refunded_total_minor = self.refunded_total_minor

        refundable_minor = self.refundable_minor

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "number": number,
                "amount_minor": amount_minor,
                "reason": reason,
                "requested_by": requested_by,
                "at": at,
            }
        )
        if covers_minor is not UNSET:
            field_dict["covers_minor"] = covers_minor
        if request_id is not UNSET:
            field_dict["request_id"] = request_id
        if refunded_total_minor is not UNSET:
            field_dict["refunded_total_minor"] = refunded_total_minor
        if refundable_minor is not UNSET:
            field_dict["refundable_minor"] = refundable_minor

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        number = d.pop("number")

        amount_minor = d.pop("amount_minor")

        reason = RefundReason(d.pop("reason"))

        requested_by = Actor(d.pop("requested_by"))

        at = datetime.datetime.fromisoformat(d.pop("at"))

        covers_minor = d.pop("covers_minor", UNSET)

        def _parse_request_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        request_id = _parse_request_id(d.pop("request_id", UNSET))

        refunded_total_minor = d.pop("refunded_total_minor", UNSET)

        refundable_minor = d.pop("refundable_minor", UNSET)

        refund_grant = cls(
            number=number,
            amount_minor=amount_minor,
            reason=reason,
            requested_by=requested_by,
            at=at,
            covers_minor=covers_minor,
            request_id=request_id,
            refunded_total_minor=refunded_total_minor,
            refundable_minor=refundable_minor,
        )

        refund_grant.additional_properties = d
        return refund_grant

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
