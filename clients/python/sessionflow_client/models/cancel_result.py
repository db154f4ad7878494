from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.session_status import SessionStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="CancelResult")


@_attrs_define
class CancelResult:
    """
    Attributes:
        session_id (str):
        status (SessionStatus): Where a session stands.
        free (bool):
        refund_minor (int):
        charge_kept (bool):
        charge_in_flight (bool | Unset):  Default: False.
        refund_when_paid_minor (int | Unset):  Default: 0.
        discretionary_refund (bool | Unset):  Default: False.
    """

    session_id: str
    status: SessionStatus
    free: bool
    refund_minor: int
    charge_kept: bool
    charge_in_flight: bool | Unset = False
    refund_when_paid_minor: int | Unset = 0
    discretionary_refund: bool | Unset = False
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        session_id = self.session_id

        status = self.status.value

        free = self.free

        refund_minor = self.refund_minor

        charge_kept = self.charge_kept

        charge_in_flight = self.charge_in_flight

        refund_when_paid_minor = self.refund_when_paid_minor

        discretionary_refund = self.discretionary_refund

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "session_id": session_id,
                "status": status,
                "free": free,
                "refund_minor": refund_minor,
                "charge_kept": charge_kept,
            }
        )
        if charge_in_flight is not UNSET:
            field_dict["charge_in_flight"] = charge_in_flight
        if refund_when_paid_minor is not UNSET:
            field_dict["refund_when_paid_minor"] = refund_when_paid_minor
        if discretionary_refund is not UNSET:
            field_dict["discretionary_refund"] = discretionary_refund

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        session_id = d.pop("session_id")

        status = SessionStatus(d.pop("status"))

        free = d.pop("free")

        refund_minor = d.pop("refund_minor")

        charge_kept = d.pop("charge_kept")

        charge_in_flight = d.pop("charge_in_flight", UNSET)

        refund_when_paid_minor = d.pop("refund_when_paid_minor", UNSET)

        discretionary_refund = d.pop("discretionary_refund", UNSET)

        cancel_result = cls(
            session_id=session_id,
            status=status,
            free=free,
            refund_minor=refund_minor,
            charge_kept=charge_kept,
            charge_in_flight=charge_in_flight,
            refund_when_paid_minor=refund_when_paid_minor,
            discretionary_refund=discretionary_refund,
        )

        cancel_result.additional_properties = d
        return cancel_result

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
