from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.end_reason import EndReason
from ..models.relationship_status import RelationshipStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.relationship_event import RelationshipEvent


T = TypeVar("T", bound="Relationship")


@_attrs_define
class Relationship:
    """
    Attributes:
        client_id (str):
        since (datetime.datetime):
        status (RelationshipStatus | Unset):
        ended_at (datetime.datetime | None | Unset):
        end_reason (EndReason | None | Unset):
        history (list[RelationshipEvent] | Unset):
    """

    client_id: str
    since: datetime.datetime
    status: RelationshipStatus | Unset = UNSET
    ended_at: datetime.datetime | None | Unset = UNSET
    end_reason: EndReason | None | Unset = UNSET
    history: list[RelationshipEvent] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        client_id = self.client_id

        since = self.since.isoformat()

        status: str | Unset = UNSET
        if not isinstance(self.status, Unset):
            status = self.status.value

        ended_at: None | str | Unset
        if isinstance(self.ended_at, Unset):
            ended_at = UNSET
        elif isinstance(self.ended_at, datetime.datetime):
            ended_at = self.ended_at.isoformat()
        else:
            ended_at = self.ended_at

        end_reason: None | str | Unset
        if isinstance(self.end_reason, Unset):
            end_reason = UNSET
        elif isinstance(self.end_reason, EndReason):
            end_reason = self.end_reason.value
        else:
            end_reason = self.end_reason

        history: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.history, Unset):
            history = []
            for history_item_data in self.history:
                history_item = history_item_data.to_dict()
                history.append(history_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "client_id": client_id,
                "since": since,
            }
        )
        if status is not UNSET:
            field_dict["status"] = status
        if ended_at is not UNSET:
            field_dict["ended_at"] = ended_at
        if end_reason is not UNSET:
            field_dict["end_reason"] = end_reason
        if history is not UNSET:
            field_dict["history"] = history

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.relationship_event import RelationshipEvent  # noqa: PLC0415

        d = dict(src_dict)
        client_id = d.pop("client_id")

        since = datetime.datetime.fromisoformat(d.pop("since"))

        _status = d.pop("status", UNSET)
        status: RelationshipStatus | Unset
        if isinstance(_status, Unset):
            status = UNSET
        else:
            status = RelationshipStatus(_status)

        def _parse_ended_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                ended_at_type_0 = datetime.datetime.fromisoformat(data)

                return ended_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        ended_at = _parse_ended_at(d.pop("ended_at", UNSET))

        def _parse_end_reason(data: object) -> EndReason | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                end_reason_type_0 = EndReason(data)

                return end_reason_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(EndReason | None | Unset, data)

        end_reason = _parse_end_reason(d.pop("end_reason", UNSET))

        _history = d.pop("history", UNSET)
        history: list[RelationshipEvent] | Unset = UNSET
        if _history is not UNSET:
            history = []
            for history_item_data in _history:
                history_item = RelationshipEvent.from_dict(history_item_data)

                history.append(history_item)

        relationship = cls(
            client_id=client_id,
            since=since,
            status=status,
            ended_at=ended_at,
            end_reason=end_reason,
            history=history,
        )

        relationship.additional_properties = d
        return relationship

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
