from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.dispute_status import DisputeStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="DisputeRecord")


@_attrs_define
class DisputeRecord:
    """The session's dispute, as the last fact that moved it left it.

    Attributes:
        dispute_id (str):
        payment_intent_id (str):
        charge_id (str):
        status (DisputeStatus): Stripe's ``dispute.status``.
        amount_minor (int):
        currency (str):
        reason (str):
        opened_at (datetime.datetime):
        updated_at (datetime.datetime):
        account (None | str | Unset):
        refund_held_minor (int | Unset):  Default: 0.
        facts_applied (int | Unset):  Default: 0.
    """

    dispute_id: str
    payment_intent_id: str
    charge_id: str
    status: DisputeStatus
    amount_minor: int
    currency: str
    reason: str
    opened_at: datetime.datetime
    updated_at: datetime.datetime
    account: None | str | Unset = UNSET
    refund_held_minor: int | Unset = 0
    facts_applied: int | Unset = 0
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        dispute_id = self.dispute_id

        payment_intent_id = self.payment_intent_id

        charge_id = self.charge_id

        status = self.status.value

        amount_minor = self.amount_minor

        currency = self.currency

        reason = self.reason

        opened_at = self.opened_at.isoformat()

        updated_at = self.updated_at.isoformat()

        account: None | str | Unset
        if isinstance(self.account, Unset):
            account = UNSET
        else:
            account = self.account

        refund_held_minor = self.refund_held_minor

        facts_applied = self.facts_applied

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "dispute_id": dispute_id,
                "payment_intent_id": payment_intent_id,
                "charge_id": charge_id,
                "status": status,
                "amount_minor": amount_minor,
                "currency": currency,
                "reason": reason,
                "opened_at": opened_at,
                "updated_at": updated_at,
            }
        )
        if account is not UNSET:
            field_dict["account"] = account
        if refund_held_minor is not UNSET:
            field_dict["refund_held_minor"] = refund_held_minor
        if facts_applied is not UNSET:
            field_dict["facts_applied"] = facts_applied

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        dispute_id = d.pop("dispute_id")

        payment_intent_id = d.pop("payment_intent_id")

        charge_id = d.pop("charge_id")

        status = DisputeStatus(d.pop("status"))

        amount_minor = d.pop("amount_minor")

        currency = d.pop("currency")

        reason = d.pop("reason")

        opened_at = datetime.datetime.fromisoformat(d.pop("opened_at"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        def _parse_account(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        account = _parse_account(d.pop("account", UNSET))

        refund_held_minor = d.pop("refund_held_minor", UNSET)

        facts_applied = d.pop("facts_applied", UNSET)

        dispute_record = cls(
            dispute_id=dispute_id,
            payment_intent_id=payment_intent_id,
            charge_id=charge_id,
            status=status,
            amount_minor=amount_minor,
            currency=currency,
            reason=reason,
            opened_at=opened_at,
            updated_at=updated_at,
            account=account,
            refund_held_minor=refund_held_minor,
            facts_applied=facts_applied,
        )

        dispute_record.additional_properties = d
        return dispute_record

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
