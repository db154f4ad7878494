from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.actor import Actor

if TYPE_CHECKING:
    from ..models.reschedule_result import RescheduleResult


T = TypeVar("T", bound="ReschedulePreview")


@_attrs_define
class ReschedulePreview:
    """What moving the session would do for this party at `received_at`, decided by the very rule
    the move applies, on the same state of the session. The practice's check of the new time
    (another client's slot, another session) is made only by the move itself.

        Attributes:
            session_id (str):
            requested_by (Actor):
            received_at (datetime.datetime):
            outcome (RescheduleResult):
            late (bool):
            charge_kept (bool):
            free_before (datetime.datetime | None):
            charge_at (datetime.datetime | None):
            charge_minor (int):
    """

    session_id: str
    requested_by: Actor
    received_at: datetime.datetime
    outcome: RescheduleResult
    late: bool
    charge_kept: bool
    free_before: datetime.datetime | None
    charge_at: datetime.datetime | None
    charge_minor: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        session_id = self.session_id

        requested_by = self.requested_by.value

        received_at = self.received_at.isoformat()

        outcome = self.outcome.to_dict()

        late = self.late

        charge_kept = self.charge_kept

        free_before: None | str
        if isinstance(self.free_before, datetime.datetime):
            free_before = self.free_before.isoformat()
        else:
            free_before = self.free_before

        charge_at: None | str
        if isinstance(self.charge_at, datetime.datetime):
            charge_at = self.charge_at.isoformat()
        else:
            charge_at = self.charge_at

        charge_minor = self.charge_minor

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "session_id": session_id,
                "requested_by": requested_by,
                "received_at": received_at,
                "outcome": outcome,
                "late": late,
                "charge_kept": charge_kept,
                "free_before": free_before,
                "charge_at": charge_at,
                "charge_minor": charge_minor,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.reschedule_result import RescheduleResult  # noqa: PLC0415

        d = dict(src_dict)
        session_id = d.pop("session_id")

        requested_by = Actor(d.pop("requested_by"))

        received_at = datetime.datetime.fromisoformat(d.pop("received_at"))

        outcome = RescheduleResult.from_dict(d.pop("outcome"))

        late = d.pop("late")

        charge_kept = d.pop("charge_kept")

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

        def _parse_charge_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                charge_at_type_0 = datetime.datetime.fromisoformat(data)

                return charge_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        charge_at = _parse_charge_at(d.pop("charge_at"))

        charge_minor = d.pop("charge_minor")

        reschedule_preview = cls(
            session_id=session_id,
            requested_by=requested_by,
            received_at=received_at,
            outcome=outcome,
            late=late,
            charge_kept=charge_kept,
            free_before=free_before,
            charge_at=charge_at,
            charge_minor=charge_minor,
        )

        reschedule_preview.additional_properties = d
        return reschedule_preview

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
