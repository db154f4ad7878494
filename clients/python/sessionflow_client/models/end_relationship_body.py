from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.end_reason import EndReason
from ..models.iana_zone import IanaZone
from ..types import UNSET, Unset

T = TypeVar("T", bound="EndRelationshipBody")


@_attrs_define
class EndRelationshipBody:
    """
    Attributes:
        reason (EndReason): Why a relationship ended, as a code: free text about health never enters the system.
        timezone (IanaZone): an IANA time zone name of the service's pinned tzdata release
        cancel_future_sessions (bool | Unset):  Default: False.
    """

    reason: EndReason
    timezone: IanaZone
    cancel_future_sessions: bool | Unset = False

    def to_dict(self) -> dict[str, Any]:
        reason = self.reason.value

        timezone = self.timezone.value

        cancel_future_sessions = self.cancel_future_sessions

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "reason": reason,
                "timezone": timezone,
            }
        )
        if cancel_future_sessions is not UNSET:
            field_dict["cancel_future_sessions"] = cancel_future_sessions

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        reason = EndReason(d.pop("reason"))

        timezone = IanaZone(d.pop("timezone"))

        cancel_future_sessions = d.pop("cancel_future_sessions", UNSET)

        end_relationship_body = cls(
            reason=reason,
            timezone=timezone,
            cancel_future_sessions=cancel_future_sessions,
        )

        return end_relationship_body
