from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.actor import Actor

if TYPE_CHECKING:
    from ..models.cancel_result import CancelResult


T = TypeVar("T", bound="CancelPreview")


@_attrs_define
class CancelPreview:
    """What cancelling would do for this party at `received_at`, decided by the very rule the
    cancellation applies, on the same state of the session.

        Attributes:
            session_id (str):
            requested_by (Actor):
            received_at (datetime.datetime):
            outcome (CancelResult):
            free_before (datetime.datetime | None):
            charge_minor (int):
    """

    session_id: str
    requested_by: Actor
    received_at: datetime.datetime
    outcome: CancelResult
    free_before: datetime.datetime | None
    charge_minor: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        session_id = self.session_id

        requested_by = self.requested_by.value

        received_at = self.received_at.isoformat()

        outcome = self.outcome.to_dict()

        free_before: None | str
        if isinstance(self.free_before, datetime.datetime):
            free_before = self.free_before.isoformat()
        else:
            free_before = self.free_before

        charge_minor = self.charge_minor

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "session_id": session_id,
                "requested_by": requested_by,
                "received_at": received_at,
                "outcome": outcome,
                "free_before": free_before,
                "charge_minor": charge_minor,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.cancel_result import CancelResult  # noqa: PLC0415

        d = dict(src_dict)
        session_id = d.pop("session_id")

        requested_by = Actor(d.pop("requested_by"))

        received_at = datetime.datetime.fromisoformat(d.pop("received_at"))

        outcome = CancelResult.from_dict(d.pop("outcome"))

        def _parse_free_before(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                free_before_type_0 = datetime.datetime.fromisoformat(data)

                return free_before_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        free_before = _parse_free_before(d.pop("free_before"))

        charge_minor = d.pop("charge_minor")

        cancel_preview = cls(
            session_id=session_id,
            requested_by=requested_by,
            received_at=received_at,
            outcome=outcome,
            free_before=free_before,
            charge_minor=charge_minor,
        )

        cancel_preview.additional_properties = d
        return cancel_preview

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
