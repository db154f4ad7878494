from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.session_status import SessionStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="PaymentMethodResponse")


@_attrs_define
class PaymentMethodResponse:
    """The update's result, and — when it retried the charge at once for a client who is present —
    the answer to that retry.

        Attributes:
            session_id (str):
            status (SessionStatus): Where a session stands.
            retrying_now (bool):
            charge_answered (bool | None | Unset): Only when `retrying_now` for the client (on-session): true when Stripe
                answered within the API's wait (`status` is then the session's after it), false when it had not. Absent (null):
                no retry the client waits for.
            payment_intent_client_secret (None | str | Unset): Only when the client's bank asks for 3-D Secure (`status` =
                `awaiting_client_action`): their browser completes the payment with it
                (`stripe.handleNextAction({clientSecret})`); the `payment_intent.succeeded` webhook settles the session. Never
                log it.
    """

    session_id: str
    status: SessionStatus
    retrying_now: bool
    charge_answered: bool | None | Unset = UNSET
    payment_intent_client_secret: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        session_id = self.session_id

        status = self.status.value

        retrying_now = self.retrying_now

        charge_answered: bool | None | Unset
        if isinstance(self.charge_answered, Unset):
            charge_answered = UNSET
        else:
            charge_answered = self.charge_answered

        payment_intent_client_secret: None | str | Unset
        if isinstance(self.payment_intent_client_secret, Unset):
            payment_intent_client_secret = UNSET
        else:
            payment_intent_client_secret = self.payment_intent_client_secret

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "session_id": session_id,
                "status": status,
                "retrying_now": retrying_now,
            }
        )
        if charge_answered is not UNSET:
            field_dict["charge_answered"] = charge_answered
        if payment_intent_client_secret is not UNSET:
            field_dict["payment_intent_client_secret"] = payment_intent_client_secret

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        session_id = d.pop("session_id")

        status = SessionStatus(d.pop("status"))

        retrying_now = d.pop("retrying_now")

        def _parse_charge_answered(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        charge_answered = _parse_charge_answered(d.pop("charge_answered", UNSET))

        def _parse_payment_intent_client_secret(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        payment_intent_client_secret = _parse_payment_intent_client_secret(d.pop("payment_intent_client_secret", UNSET))

        payment_method_response = cls(
            session_id=session_id,
            status=status,
            retrying_now=retrying_now,
            charge_answered=charge_answered,
            payment_intent_client_secret=payment_intent_client_secret,
        )

        payment_method_response.additional_properties = d
        return payment_method_response

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
