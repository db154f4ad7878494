from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.actor import Actor

T = TypeVar("T", bound="ActingParty")


@_attrs_define
class ActingParty:
    """The person a command comes from: their role and their opaque id (never a name).

    Attributes:
        role (Actor):
        id (str):
    """

    role: Actor
    id: str

    def to_dict(self) -> dict[str, Any]:
        role = self.role.value

        id = self.id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "role": role,
                "id": id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        role = Actor(d.pop("role"))

        id = d.pop("id")

        acting_party = cls(
            role=role,
            id=id,
        )

        return acting_party
