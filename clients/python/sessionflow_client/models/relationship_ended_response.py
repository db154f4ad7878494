from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="RelationshipEndedResponse")


@_attrs_define
class RelationshipEndedResponse:
    """
    Attributes:
        client_id (str):
        released_slot_ids (list[str] | Unset):
        already_ended (bool | Unset):  Default: False.
        cancelled_session_ids (list[str] | Unset):
    """

    client_id: str
    released_slot_ids: list[str] | Unset = UNSET
    already_ended: bool | Unset = False
    cancelled_session_ids: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        client_id = self.client_id

        released_slot_ids: list[str] | Unset = UNSET
        if not isinstance(self.released_slot_ids, Unset):
            released_slot_ids = self.released_slot_ids

        already_ended = self.already_ended

        cancelled_session_ids: list[str] | Unset = UNSET
        if not isinstance(self.cancelled_session_ids, Unset):
            cancelled_session_ids = self.cancelled_session_ids

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "client_id": client_id,
            }
        )
        if released_slot_ids is not UNSET:
            field_dict["released_slot_ids"] = released_slot_ids
        if already_ended is not UNSET:
            field_dict["already_ended"] = already_ended
        if cancelled_session_ids is not UNSET:
            field_dict["cancelled_session_ids"] = cancelled_session_ids

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        client_id = d.pop("client_id")

        released_slot_ids = cast(list[str], d.pop("released_slot_ids", UNSET))

        already_ended = d.pop("already_ended", UNSET)

        cancelled_session_ids = cast(list[str], d.pop("cancelled_session_ids", UNSET))

        relationship_ended_response = cls(
            client_id=client_id,
            released_slot_ids=released_slot_ids,
            already_ended=already_ended,
            cancelled_session_ids=cancelled_session_ids,
        )

        relationship_ended_response.additional_properties = d
        return relationship_ended_response

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
