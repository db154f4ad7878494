from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ErasureView")


@_attrs_define
class ErasureView:
    """The erasure record: no personal data (the client id only as a keyed hash).

    Attributes:
        erasure_id (str):
        erased_at (str):
        client_hash (str):
        sessions (int):
        workflows_closed (int):
        forced (int):
        data_keys_destroyed (int):
        already_erased (bool):
        relationships_ended (int):
    """

    erasure_id: str
    erased_at: str
    client_hash: str
    sessions: int
    workflows_closed: int
    forced: int
    data_keys_destroyed: int
    already_erased: bool
    relationships_ended: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        erasure_id = self.erasure_id

        erased_at = self.erased_at

        client_hash = self.client_hash

        sessions = self.sessions

        workflows_closed = self.workflows_closed

        forced = self.forced

        data_keys_destroyed = self.data_keys_destroyed

        already_erased = self.already_erased

        relationships_ended = self.relationships_ended

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "erasure_id": erasure_id,
                "erased_at": erased_at,
                "client_hash": client_hash,
                "sessions": sessions,
                "workflows_closed": workflows_closed,
                "forced": forced,
                "data_keys_destroyed": data_keys_destroyed,
                "already_erased": already_erased,
                "relationships_ended": relationships_ended,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        erasure_id = d.pop("erasure_id")

        erased_at = d.pop("erased_at")

        client_hash = d.pop("client_hash")

        sessions = d.pop("sessions")

        workflows_closed = d.pop("workflows_closed")

        forced = d.pop("forced")

        data_keys_destroyed = d.pop("data_keys_destroyed")

        already_erased = d.pop("already_erased")

        relationships_ended = d.pop("relationships_ended")

        erasure_view = cls(
            erasure_id=erasure_id,
            erased_at=erased_at,
            client_hash=client_hash,
            sessions=sessions,
            workflows_closed=workflows_closed,
            forced=forced,
            data_keys_destroyed=data_keys_destroyed,
            already_erased=already_erased,
            relationships_ended=relationships_ended,
        )

        erasure_view.additional_properties = d
        return erasure_view

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
