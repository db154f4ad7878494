from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.iana_zone import IanaZone

T = TypeVar("T", bound="PaymentAccountBody")


@_attrs_define
class PaymentAccountBody:
    """
    Attributes:
        account_id (str): the therapist's connected Stripe account, `acct_…`
        timezone (IanaZone): an IANA time zone name of the service's pinned tzdata release
    """

    account_id: str
    timezone: IanaZone

    def to_dict(self) -> dict[str, Any]:
        account_id = self.account_id

        timezone = self.timezone.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "account_id": account_id,
                "timezone": timezone,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        account_id = d.pop("account_id")

        timezone = IanaZone(d.pop("timezone"))

        payment_account_body = cls(
            account_id=account_id,
            timezone=timezone,
        )

        return payment_account_body
