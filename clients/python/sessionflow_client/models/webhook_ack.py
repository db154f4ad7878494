from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="WebhookAck")


@_attrs_define
class WebhookAck:
    """The delivery was received: Stripe stops retrying it.

    Attributes:
        received (bool | Unset):  Default: True.
        handled (bool | None | Unset):
        already_known (bool | None | Unset):
        duplicate (bool | None | Unset):
    """

    received: bool | Unset = True
    handled: bool | None | Unset = UNSET
    already_known: bool | None | Unset = UNSET
    duplicate: bool | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        received = self.received

        handled: bool | None | Unset
        if isinstance(self.handled, Unset):
            handled = UNSET
        else:
            handled = self.handled

        already_known: bool | None | Unset
        if isinstance(self.already_known, Unset):
            already_known = UNSET
        else:
            already_known = self.already_known

        duplicate: bool | None | Unset
        if isinstance(self.duplicate, Unset):
            duplicate = UNSET
        else:
            duplicate = self.duplicate

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if received is not UNSET:
            field_dict["received"] = received
        if handled is not UNSET:
            field_dict["handled"] = handled
        if already_known is not UNSET:
            field_dict["already_known"] = already_known
        if duplicate is not UNSET:
            field_dict["duplicate"] = duplicate

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        received = d.pop("received", UNSET)

        def _parse_handled(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        handled = _parse_handled(d.pop("handled", UNSET))

        def _parse_already_known(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        already_known = _parse_already_known(d.pop("already_known", UNSET))

        def _parse_duplicate(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        duplicate = _parse_duplicate(d.pop("duplicate", UNSET))

        webhook_ack = cls(
            received=received,
            handled=handled,
            already_known=already_known,
            duplicate=duplicate,
        )

        webhook_ack.additional_properties = d
        return webhook_ack

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
