from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.refund_reason import RefundReason
from ..types import UNSET, Unset

T = TypeVar("T", bound="RefundBody")


@_attrs_define
class RefundBody:
    """Who refunds is the `Acting-Party` (the session's therapist or an admin).

    Attributes:
        reason (RefundReason): Why a therapist or admin refunds a session, as a code: never free text.
        amount_minor (int | None | Unset):
    """

    reason: RefundReason
    amount_minor: int | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        reason = self.reason.value

        amount_minor: int | None | Unset
        if isinstance(self.amount_minor, Unset):
            amount_minor = UNSET
        else:
            amount_minor = self.amount_minor

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "reason": reason,
            }
        )
        if amount_minor is not UNSET:
            field_dict["amount_minor"] = amount_minor

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        reason = RefundReason(d.pop("reason"))

        def _parse_amount_minor(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        amount_minor = _parse_amount_minor(d.pop("amount_minor", UNSET))

        refund_body = cls(
            reason=reason,
            amount_minor=amount_minor,
        )

        return refund_body
