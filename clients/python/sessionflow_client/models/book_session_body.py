from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.book_session_body_currency import BookSessionBodyCurrency
from ..models.booking_kind import BookingKind
from ..models.iana_zone import IanaZone
from ..types import UNSET, Unset

T = TypeVar("T", bound="BookSessionBody")


@_attrs_define
class BookSessionBody:
    """The booking as the caller sends it. The rules across its fields are checked after its shape,
    a refusal being a `409` with the rule's code: each is stated on the field it concerns.
    `session_id` is the booking's idempotency key (this route takes no `Idempotency-Key`).

        Attributes:
            session_id (str):
            therapist_id (str):
            client_id (str):
            kind (BookingKind): How a session came to be booked: it decides who books it and when it is charged. The client
                books `initial_prepaid` and `client_follow_up`, the therapist `therapist_follow_up` and
                `therapist_manual` (with the client's agreement), an admin any kind; another party is `409
                not_allowed`. `initial_prepaid` was paid at checkout; `client_follow_up` is charged at once,
                while the client is present; a therapist's kind off-session 48 hours before the start (at once
                when booked inside that window).
            start (datetime.datetime): Must be in the future (`409 start_in_past`) and at most 366 days ahead (the booking
                horizon: `409 start_too_far`); only `therapist_manual` may be in the past, by at most 14 days (a session that
                took place: `409 start_too_far_back` beyond); a client's own booking needs 24 hours' notice (`409
                notice_too_short`). Any future instant within 366 days (the example's date is only an example: replace it with
                one in that range).
            amount_minor (int): amount in minor units
            currency (BookSessionBodyCurrency): a lower-case ISO 4217 code; the server also reads upper or mixed case and
                surrounding spaces, and always answers in lower case
            stripe_customer_id (str):
            duration_minutes (int | Unset): the session's length in minutes, within the default policy's range Default: 50.
            therapist_timezone (IanaZone | Unset): an IANA time zone name of the service's pinned tzdata release
            client_timezone (IanaZone | None | Unset): The client's IANA zone, for the local times their notices give;
                absent or null: the therapist's zone.
            payment_method_id (None | str | Unset): The saved card charged off-session: required for every kind but
                `initial_prepaid` (`409 invalid_combination` when missing).
            prepaid_payment_intent_id (None | str | Unset): The PaymentIntent that paid the session at checkout: required
                for `initial_prepaid`, refused for any other kind (`409 invalid_combination`).
            client_agreed (bool | Unset): The client explicitly agreed: must be true for `therapist_follow_up` and
                `therapist_manual` (`409 invalid_combination`). Default: False.
            previous_session_id (None | str | Unset):
            previous_start (datetime.datetime | None | Unset):
            connected_account_id (None | Unset): never given by the caller: the session is charged on the connected account
                the therapist's practice holds at booking (`PUT /v1/therapists/{id}/payment-account`)
            wall_clock_start (None | str | Unset): The weekly wall-clock time (therapist's zone, no offset) the session
                stands for: must be `start`'s own local time, or the one a DST gap moved it from (`409 invalid_combination`).
    """

    session_id: str
    therapist_id: str
    client_id: str
    kind: BookingKind
    start: datetime.datetime
    amount_minor: int
    currency: BookSessionBodyCurrency
    stripe_customer_id: str
    duration_minutes: int | Unset = 50
    therapist_timezone: IanaZone | Unset = UNSET
    client_timezone: IanaZone | None | Unset = UNSET
    payment_method_id: None | str | Unset = UNSET
    prepaid_payment_intent_id: None | str | Unset = UNSET
    client_agreed: bool | Unset = False
    previous_session_id: None | str | Unset = UNSET
    previous_start: datetime.datetime | None | Unset = UNSET
    connected_account_id: None | Unset = UNSET
    wall_clock_start: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        session_id = self.session_id

        therapist_id = self.therapist_id

        client_id = self.client_id

        kind = self.kind.value

        start = self.start.isoformat()

        amount_minor = self.amount_minor

        currency = self.currency.value

        stripe_customer_id = self.stripe_customer_id

        duration_minutes = self.duration_minutes

        therapist_timezone: str | Unset = UNSET
        if not isinstance(self.therapist_timezone, Unset):
            therapist_timezone = self.therapist_timezone.value

        client_timezone: None | str | Unset
        if isinstance(self.client_timezone, Unset):
            client_timezone = UNSET
        elif isinstance(self.client_timezone, IanaZone):
            client_timezone = self.client_timezone.value
        else:
            client_timezone = self.client_timezone

        payment_method_id: None | str | Unset
        if isinstance(self.payment_method_id, Unset):
            payment_method_id = UNSET
        else:
            payment_method_id = self.payment_method_id

        prepaid_payment_intent_id: None | str | Unset
        if isinstance(self.prepaid_payment_intent_id, Unset):
            prepaid_payment_intent_id = UNSET
        else:
            prepaid_payment_intent_id = self.prepaid_payment_intent_id

        client_agreed = self.client_agreed

        previous_session_id: None | str | Unset
        if isinstance(self.previous_session_id, Unset):
            previous_session_id = UNSET
        else:
            previous_session_id = self.previous_session_id

        previous_start: None | str | Unset
        if isinstance(self.previous_start, Unset):
            previous_start = UNSET
        elif isinstance(self.previous_start, datetime.datetime):
            previous_start = self.previous_start.isoformat()
        else:
            previous_start = self.previous_start

        connected_account_id = self.connected_account_id

        wall_clock_start: None | str | Unset
        if isinstance(self.wall_clock_start, Unset):
            wall_clock_start = UNSET
        else:
            wall_clock_start = self.wall_clock_start

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "session_id": session_id,
                "therapist_id": therapist_id,
                "client_id": client_id,
                "kind": kind,
                "start": start,
                "amount_minor": amount_minor,
                "currency": currency,
                "stripe_customer_id": stripe_customer_id,
            }
        )
        if duration_minutes is not UNSET:
            field_dict["duration_minutes"] = duration_minutes
        if therapist_timezone is not UNSET:
            field_dict["therapist_timezone"] = therapist_timezone
        if client_timezone is not UNSET:
            field_dict["client_timezone"] = client_timezone
        if payment_method_id is not UNSET:
            field_dict["payment_method_id"] = payment_method_id
        if prepaid_payment_intent_id is not UNSET:
            field_dict["prepaid_payment_intent_id"] = prepaid_payment_intent_id
        if client_agreed is not UNSET:
            field_dict["client_agreed"] = client_agreed
        if previous_session_id is not UNSET:
            field_dict["previous_session_id"] = previous_session_id
        if previous_start is not UNSET:
            field_dict["previous_start"] = previous_start
        if connected_account_id is not UNSET:
            field_dict["connected_account_id"] = connected_account_id
        if wall_clock_start is not UNSET:
            field_dict["wall_clock_start"] = wall_clock_start

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        session_id = d.pop("session_id")

        therapist_id = d.pop("therapist_id")

        client_id = d.pop("client_id")

        kind = BookingKind(d.pop("kind"))

        start = datetime.datetime.fromisoformat(d.pop("start"))

        amount_minor = d.pop("amount_minor")

        currency = BookSessionBodyCurrency(d.pop("currency"))

        stripe_customer_id = d.pop("stripe_customer_id")

        duration_minutes = d.pop("duration_minutes", UNSET)

        _therapist_timezone = d.pop("therapist_timezone", UNSET)
        therapist_timezone: IanaZone | Unset
        if isinstance(_therapist_timezone, Unset):
            therapist_timezone = UNSET
        else:
            therapist_timezone = IanaZone(_therapist_timezone)

        def _parse_client_timezone(data: object) -> IanaZone | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                client_timezone_type_0 = IanaZone(data)

                return client_timezone_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(IanaZone | None | Unset, data)

        client_timezone = _parse_client_timezone(d.pop("client_timezone", UNSET))

        def _parse_payment_method_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        payment_method_id = _parse_payment_method_id(d.pop("payment_method_id", UNSET))

        def _parse_prepaid_payment_intent_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        prepaid_payment_intent_id = _parse_prepaid_payment_intent_id(d.pop("prepaid_payment_intent_id", UNSET))

        client_agreed = d.pop("client_agreed", UNSET)

        def _parse_previous_session_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        previous_session_id = _parse_previous_session_id(d.pop("previous_session_id", UNSET))

        def _parse_previous_start(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                previous_start_type_0 = datetime.datetime.fromisoformat(data)

                return previous_start_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        previous_start = _parse_previous_start(d.pop("previous_start", UNSET))

        connected_account_id = d.pop("connected_account_id", UNSET)

        def _parse_wall_clock_start(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        wall_clock_start = _parse_wall_clock_start(d.pop("wall_clock_start", UNSET))

        book_session_body = cls(
            session_id=session_id,
            therapist_id=therapist_id,
            client_id=client_id,
            kind=kind,
            start=start,
            amount_minor=amount_minor,
            currency=currency,
            stripe_customer_id=stripe_customer_id,
            duration_minutes=duration_minutes,
            therapist_timezone=therapist_timezone,
            client_timezone=client_timezone,
            payment_method_id=payment_method_id,
            prepaid_payment_intent_id=prepaid_payment_intent_id,
            client_agreed=client_agreed,
            previous_session_id=previous_session_id,
            previous_start=previous_start,
            connected_account_id=connected_account_id,
            wall_clock_start=wall_clock_start,
        )

        return book_session_body
