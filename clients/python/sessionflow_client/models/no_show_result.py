from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.session_status import SessionStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="NoShowResult")


@_attrs_define
class NoShowResult:
    """
    Attributes:
        session_id (str):
        status (SessionStatus): Where a session stands.
        marked_at (datetime.datetime):
        already_marked (bool | Unset):  Default: False.
    """

    session_id: str
    status: SessionStatus
    marked_at: datetime.datetime
    already_marked: bool | Unset = False
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        session_id = self.session_id

        status = self.status.value

        marked_at = self.marked_at.isoformat()

        already_marked = self.already_marked

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "session_id": session_id,
                "status": status,
                "marked_at": marked_at,
            }
        )
        if already_marked is not UNSET:
            field_dict["already_marked"] = already_marked

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        session_id = d.pop("session_id")

        status = SessionStatus(d.pop("status"))

        marked_at = datetime.datetime.fromisoformat(d.pop("marked_at"))

        already_marked = d.pop("already_marked", UNSET)

        no_show_result = cls(
            session_id=session_id,
            status=status,
            marked_at=marked_at,
            already_marked=already_marked,
        )

        no_show_result.additional_properties = d
        return no_show_result

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
