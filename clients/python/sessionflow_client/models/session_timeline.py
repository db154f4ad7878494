from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.timeline_event import TimelineEvent


T = TypeVar("T", bound="SessionTimeline")


@_attrs_define
class SessionTimeline:
    """
    Attributes:
        session_id (str):
        workflow_id (str):
        events (list[TimelineEvent] | Unset):
        undecodable_payloads (int | Unset):  Default: 0.
        erased_payloads (int | Unset):  Default: 0.
    """

    session_id: str
    workflow_id: str
    events: list[TimelineEvent] | Unset = UNSET
    undecodable_payloads: int | Unset = 0
    erased_payloads: int | Unset = 0
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        session_id = self.session_id

        workflow_id = self.workflow_id

        events: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.events, Unset):
            events = []
            for events_item_data in self.events:
                events_item = events_item_data.to_dict()
                events.append(events_item)

        undecodable_payloads = self.undecodable_payloads

        erased_payloads = self.erased_payloads

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "session_id": session_id,
                "workflow_id": workflow_id,
            }
        )
        if events is not UNSET:
            field_dict["events"] = events
        if undecodable_payloads is not UNSET:
            field_dict["undecodable_payloads"] = undecodable_payloads
        if erased_payloads is not UNSET:
            field_dict["erased_payloads"] = erased_payloads

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.timeline_event import TimelineEvent  # noqa: PLC0415

        d = dict(src_dict)
        session_id = d.pop("session_id")

        workflow_id = d.pop("workflow_id")

        _events = d.pop("events", UNSET)
        events: list[TimelineEvent] | Unset = UNSET
        if _events is not UNSET:
            events = []
            for events_item_data in _events:
                events_item = TimelineEvent.from_dict(events_item_data)

                events.append(events_item)

        undecodable_payloads = d.pop("undecodable_payloads", UNSET)

        erased_payloads = d.pop("erased_payloads", UNSET)

        session_timeline = cls(
            session_id=session_id,
            workflow_id=workflow_id,
            events=events,
            undecodable_payloads=undecodable_payloads,
            erased_payloads=erased_payloads,
        )

        session_timeline.additional_properties = d
        return session_timeline

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
