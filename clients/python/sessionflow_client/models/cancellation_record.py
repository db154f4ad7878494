from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.actor import Actor
from ..models.cancel_reason import CancelReason

T = TypeVar("T", bound="CancellationRecord")


@_attrs_define
class CancellationRecord:
    """
    Attributes:
        requested_by (Actor):
        recorded_by (Actor):
        reason (CancelReason): Why a session was cancelled, as a code: free text about health never enters the system.
        at (datetime.datetime):
        discretionary_refund (bool):
    """

    requested_by: Actor
    recorded_by: Actor
    reason: CancelReason
    at: datetime.datetime
    discretionary_refund: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        requested_by = self.requested_by.value

        recorded_by = self.recorded_by.value

        reason = self.reason.value

        at = self.at.isoformat()

        discretionary_refund = self.discretionary_refund

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "requested_by": requested_by,
                "recorded_by": recorded_by,
                "reason": reason,
                "at": at,
                "discretionary_refund": discretionary_refund,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        requested_by = Actor(d.pop("requested_by"))

        recorded_by = Actor(d.pop("recorded_by"))

        reason = CancelReason(d.pop("reason"))

        at = datetime.datetime.fromisoformat(d.pop("at"))

        discretionary_refund = d.pop("discretionary_refund")

        cancellation_record = cls(
            requested_by=requested_by,
            recorded_by=recorded_by,
            reason=reason,
            at=at,
            discretionary_refund=discretionary_refund,
        )

        cancellation_record.additional_properties = d
        return cancellation_record

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
