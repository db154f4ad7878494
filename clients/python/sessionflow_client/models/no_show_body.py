from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="NoShowBody")


@_attrs_define
class NoShowBody:
    """Who marks it is the `Acting-Party` (the session's therapist or an admin); nothing else."""

    def to_dict(self) -> dict[str, Any]:

        field_dict: dict[str, Any] = {}

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        no_show_body = cls()

        return no_show_body
