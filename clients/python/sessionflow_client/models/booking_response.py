from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.session_status import SessionStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="BookingResponse")


@_attrs_define
class BookingResponse:
    """
    Attributes:
        session_id (str):
        workflow_id (str):
        status (SessionStatus): Where a session stands.
        created (bool):
        charge_answered (bool | None | Unset): Only for a booking charged at once while the client is present
            (`client_follow_up`, on-session): true when Stripe answered within the API's wait (`status` is then the
            session's after it), false when it had not (read `GET /v1/sessions/{id}` later). Absent (null): the booking
            caused no such charge.
        payment_intent_client_secret (None | str | Unset): Only when the client's bank asks for 3-D Secure (`status` =
            `awaiting_client_action`): hand it to the client's browser, which completes the payment with Stripe.js
            (`stripe.handleNextAction({clientSecret})`); the `payment_intent.succeeded` webhook then settles the session.
            Never log it.
    """

    session_id: str
    workflow_id: str
    status: SessionStatus
    created: bool
    charge_answered: bool | None | Unset = UNSET
    payment_intent_client_secret: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        session_id = self.session_id

        workflow_id = self.workflow_id

        status = self.status.value

        created = self.created

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

        field_dict.update(
            {
                "session_id": session_id,
                "workflow_id": workflow_id,
                "status": status,
                "created": created,
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

        workflow_id = d.pop("workflow_id")

        status = SessionStatus(d.pop("status"))

        created = d.pop("created")

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

        booking_response = cls(
            session_id=session_id,
            workflow_id=workflow_id,
            status=status,
            created=created,
            charge_answered=charge_answered,
            payment_intent_client_secret=payment_intent_client_secret,
        )

        return booking_response
