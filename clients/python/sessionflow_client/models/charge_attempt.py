from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.charge_outcome import ChargeOutcome
from ..models.decline_kind import DeclineKind
from ..types import UNSET, Unset

T = TypeVar("T", bound="ChargeAttempt")


@_attrs_define
class ChargeAttempt:
    """
    Attributes:
        number (int):
        at (datetime.datetime):
        outcome (ChargeOutcome):
        decline_kind (DeclineKind | None | Unset):
        code (None | str | Unset):
        decline_code (None | str | Unset):
        advice_code (None | str | Unset):
        on_session (bool | Unset):  Default: False.
    """

    number: int
    at: datetime.datetime
    outcome: ChargeOutcome
    decline_kind: DeclineKind | None | Unset = UNSET
    code: None | str | Unset = UNSET
    decline_code: None | str | Unset = UNSET
    advice_code: None | str | Unset = UNSET
    on_session: bool | Unset = False
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        number = self.number

        at = self.at.isoformat()

        outcome = self.outcome.value

        decline_kind: None | str | Unset
        if isinstance(self.decline_kind, Unset):
            decline_kind = UNSET
        elif isinstance(self.decline_kind, DeclineKind):
            decline_kind = self.decline_kind.value
        else:
            decline_kind = self.decline_kind

        code: None | str | Unset
        if isinstance(self.code, Unset):
            code = UNSET
        else:
            code = self.code

        decline_code: None | str | Unset
        if isinstance(self.decline_code, Unset):
            decline_code = UNSET
        else:
            decline_code = self.decline_code

        advice_code: None | str | Unset
        if isinstance(self.advice_code, Unset):
            advice_code = UNSET
        else:
            advice_code = self.advice_code

        on_session = self.on_session

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "number": number,
                "at": at,
                "outcome": outcome,
            }
        )
        if decline_kind is not UNSET:
            field_dict["decline_kind"] = decline_kind
        if code is not UNSET:
            field_dict["code"] = code
        if decline_code is not UNSET:
            field_dict["decline_code"] = decline_code
        if advice_code is not UNSET:
            field_dict["advice_code"] = advice_code
        if on_session is not UNSET:
            field_dict["on_session"] = on_session

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        number = d.pop("number")

        at = datetime.datetime.fromisoformat(d.pop("at"))

        outcome = ChargeOutcome(d.pop("outcome"))

        def _parse_decline_kind(data: object) -> DeclineKind | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                decline_kind_type_0 = DeclineKind(data)

                return decline_kind_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DeclineKind | None | Unset, data)

        decline_kind = _parse_decline_kind(d.pop("decline_kind", UNSET))

        def _parse_code(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        code = _parse_code(d.pop("code", UNSET))

        def _parse_decline_code(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        decline_code = _parse_decline_code(d.pop("decline_code", UNSET))

        def _parse_advice_code(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        advice_code = _parse_advice_code(d.pop("advice_code", UNSET))

        on_session = d.pop("on_session", UNSET)

        charge_attempt = cls(
            number=number,
            at=at,
            outcome=outcome,
            decline_kind=decline_kind,
            code=code,
            decline_code=decline_code,
            advice_code=advice_code,
            on_session=on_session,
        )

        charge_attempt.additional_properties = d
        return charge_attempt

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
