from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.actor import Actor
from ..models.cancel_reason import CancelReason
from ..types import UNSET, Unset

T = TypeVar("T", bound="CancelBody")


@_attrs_define
class CancelBody:
    """
    Attributes:
        requested_by (Actor):
        reason (CancelReason): Why a session was cancelled, as a code: free text about health never enters the system.
        submitted_by (Actor | None | Unset): Who files it: must be the `Acting-Party`'s role, which is the default
            (another role: `409 submitter_not_acting_party`), and at least `requested_by`'s authority (`409
            submitter_not_allowed`).
        discretionary_refund (bool | Unset): Waives a client's late-cancellation charge: only with `requested_by:
            client` and filed by a therapist or admin (`409 invalid_combination` otherwise). Default: False.
    """

    requested_by: Actor
    reason: CancelReason
    submitted_by: Actor | None | Unset = UNSET
    discretionary_refund: bool | Unset = False

    def to_dict(self) -> dict[str, Any]:
        requested_by = self.requested_by.value

        reason = self.reason.value

        submitted_by: None | str | Unset
        if isinstance(self.submitted_by, Unset):
            submitted_by = UNSET
        elif isinstance(self.submitted_by, Actor):
            submitted_by = self.submitted_by.value
        else:
            submitted_by = self.submitted_by

        discretionary_refund = self.discretionary_refund

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "requested_by": requested_by,
                "reason": reason,
            }
        )
        if submitted_by is not UNSET:
            field_dict["submitted_by"] = submitted_by
        if discretionary_refund is not UNSET:
            field_dict["discretionary_refund"] = discretionary_refund

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        requested_by = Actor(d.pop("requested_by"))

        reason = CancelReason(d.pop("reason"))

        def _parse_submitted_by(data: object) -> Actor | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                submitted_by_type_0 = Actor(data)

                return submitted_by_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Actor | None | Unset, data)

        submitted_by = _parse_submitted_by(d.pop("submitted_by", UNSET))

        discretionary_refund = d.pop("discretionary_refund", UNSET)

        cancel_body = cls(
            requested_by=requested_by,
            reason=reason,
            submitted_by=submitted_by,
            discretionary_refund=discretionary_refund,
        )

        return cancel_body
