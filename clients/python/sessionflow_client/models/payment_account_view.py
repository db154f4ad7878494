from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="PaymentAccountView")


@_attrs_define
class PaymentAccountView:
    """The practice's connected account as the therapist's reads show it (opaque ids and codes).

    Attributes:
        account_id (None | str | Unset):
        paused (bool | Unset):  Default: False.
        paused_since (datetime.datetime | None | Unset):
        disabled_reason (None | str | Unset):
    """

    account_id: None | str | Unset = UNSET
    paused: bool | Unset = False
    paused_since: datetime.datetime | None | Unset = UNSET
    disabled_reason: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        account_id: None | str | Unset
        if isinstance(self.account_id, Unset):
            account_id = UNSET
        else:
            account_id = self.account_id

        paused = self.paused

        paused_since: None | str | Unset
        if isinstance(self.paused_since, Unset):
            paused_since = UNSET
        elif isinstance(self.paused_since, datetime.datetime):
            paused_since = self.paused_since.isoformat()
        else:
            paused_since = self.paused_since

        disabled_reason: None | str | Unset
        if isinstance(self.disabled_reason, Unset):
            disabled_reason = UNSET
        else:
            disabled_reason = self.disabled_reason

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if account_id is not UNSET:
            field_dict["account_id"] = account_id
        if paused is not UNSET:
            field_dict["paused"] = paused
        if paused_since is not UNSET:
            field_dict["paused_since"] = paused_since
        if disabled_reason is not UNSET:
            field_dict["disabled_reason"] = disabled_reason

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_account_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        account_id = _parse_account_id(d.pop("account_id", UNSET))

        paused = d.pop("paused", UNSET)

        def _parse_paused_since(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                paused_since_type_0 = datetime.datetime.fromisoformat(data)

                return paused_since_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        paused_since = _parse_paused_since(d.pop("paused_since", UNSET))

        def _parse_disabled_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        disabled_reason = _parse_disabled_reason(d.pop("disabled_reason", UNSET))

        payment_account_view = cls(
            account_id=account_id,
            paused=paused,
            paused_since=paused_since,
            disabled_reason=disabled_reason,
        )

        payment_account_view.additional_properties = d
        return payment_account_view

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
