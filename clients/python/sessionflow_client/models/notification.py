from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.audience import Audience
from ..models.channel import Channel
from ..models.notification_type import NotificationType
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.notification_codes import NotificationCodes


T = TypeVar("T", bound="Notification")


@_attrs_define
class Notification:
    """One event for the backend to render and deliver to a person. Ids, instants and codes only.

    Attributes:
        event_id (str):
        type_ (NotificationType):
        audience (Audience):
        therapist_id (str):
        occurred_at (datetime.datetime):
        channel (Channel | Unset): How the backend brings the event to the person (it renders the words).
        confirmation (bool | Unset):  Default: False.
        catalogue_version (str | Unset):  Default: '1'.
        session_id (None | str | Unset):
        client_id (None | str | Unset):
        codes (NotificationCodes | Unset):
        amount_minor (int | None | Unset):
        currency (None | str | Unset):
        related_session_id (None | str | Unset):
        payment_intent_client_secret (None | str | Unset):
        reminder_number (int | None | Unset):
        slot_id (None | str | Unset):
        start (datetime.datetime | None | Unset):
        start_local_client (datetime.datetime | None | Unset):
        start_local_therapist (datetime.datetime | None | Unset):
        client_timezone (None | str | Unset):
        therapist_timezone (None | str | Unset):
        client_local_time_changed (bool | None | Unset):
        charge_at (datetime.datetime | None | Unset):
        free_cancellation_until (datetime.datetime | None | Unset):
    """

    event_id: str
    type_: NotificationType
    audience: Audience
    therapist_id: str
    occurred_at: datetime.datetime
    channel: Channel | Unset = UNSET
    confirmation: bool | Unset = False
    catalogue_version: str | Unset = "1"
    session_id: None | str | Unset = UNSET
    client_id: None | str | Unset = UNSET
    codes: NotificationCodes | Unset = UNSET
    amount_minor: int | None | Unset = UNSET
    currency: None | str | Unset = UNSET
    related_session_id: None | str | Unset = UNSET
    payment_intent_client_secret: None | str | Unset = UNSET
    reminder_number: int | None | Unset = UNSET
    slot_id: None | str | Unset = UNSET
    start: datetime.datetime | None | Unset = UNSET
    start_local_client: datetime.datetime | None | Unset = UNSET
    start_local_therapist: datetime.datetime | None | Unset = UNSET
    client_timezone: None | str | Unset = UNSET
    therapist_timezone: None | str | Unset = UNSET
    client_local_time_changed: bool | None | Unset = UNSET
    charge_at: datetime.datetime | None | Unset = UNSET
    free_cancellation_until: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        event_id = self.event_id

        type_ = self.type_.value

        audience = self.audience.value

        therapist_id = self.therapist_id

        occurred_at = self.occurred_at.isoformat()

        channel: str | Unset = UNSET
        if not isinstance(self.channel, Unset):
            channel = self.channel.value

        confirmation = self.confirmation

        catalogue_version = self.catalogue_version

        session_id: None | str | Unset
        if isinstance(self.session_id, Unset):
            session_id = UNSET
        else:
            session_id = self.session_id

        client_id: None | str | Unset
        if isinstance(self.client_id, Unset):
            client_id = UNSET
        else:
            client_id = self.client_id

        codes: dict[str, Any] | Unset = UNSET
        if not isinstance(self.codes, Unset):
            codes = self.codes.to_dict()

        amount_minor: int | None | Unset
        if isinstance(self.amount_minor, Unset):
            amount_minor = UNSET
        else:
            amount_minor = self.amount_minor

        currency: None | str | Unset
        if isinstance(self.currency, Unset):
            currency = UNSET
        else:
            currency = self.currency

        related_session_id: None | str | Unset
        if isinstance(self.related_session_id, Unset):
            related_session_id = UNSET
        else:
            related_session_id = self.related_session_id

        payment_intent_client_secret: None | str | Unset
        if isinstance(self.payment_intent_client_secret, Unset):
            payment_intent_client_secret = UNSET
        else:
            payment_intent_client_secret = self.payment_intent_client_secret

        reminder_number: int | None | Unset
        if isinstance(self.reminder_number, Unset):
            reminder_number = UNSET
        else:
            reminder_number = self.reminder_number

        slot_id: None | str | Unset
        if isinstance(self.slot_id, Unset):
            slot_id = UNSET
        else:
            slot_id = self.slot_id

        start: None | str | Unset
        if isinstance(self.start, Unset):
            start = UNSET
        elif isinstance(self.start, datetime.datetime):
            start = self.start.isoformat()
        else:
            start = self.start

        start_local_client: None | str | Unset
        if isinstance(self.start_local_client, Unset):
            start_local_client = UNSET
        elif isinstance(self.start_local_client, datetime.datetime):
            start_local_client = self.start_local_client.isoformat()
        else:
            start_local_client = self.start_local_client

        start_local_therapist: None | str | Unset
        if isinstance(self.start_local_therapist, Unset):
            start_local_therapist = UNSET
        elif isinstance(self.start_local_therapist, datetime.datetime):
            start_local_therapist = self.start_local_therapist.isoformat()
        else:
            start_local_therapist = self.start_local_therapist

        client_timezone: None | str | Unset
        if isinstance(self.client_timezone, Unset):
            client_timezone = UNSET
        else:
            client_timezone = self.client_timezone

        therapist_timezone: None | str | Unset
        if isinstance(self.therapist_timezone, Unset):
            therapist_timezone = UNSET
        else:
            therapist_timezone = self.therapist_timezone

        client_local_time_changed: bool | None | Unset
        if isinstance(self.client_local_time_changed, Unset):
            client_local_time_changed = UNSET
        else:
            client_local_time_changed = self.client_local_time_changed

        charge_at: None | str | Unset
        if isinstance(self.charge_at, Unset):
            charge_at = UNSET
        elif isinstance(self.charge_at, datetime.datetime):
            charge_at = self.charge_at.isoformat()
        else:
            charge_at = self.charge_at

        free_cancellation_until: None | str | Unset
        if isinstance(self.free_cancellation_until, Unset):
            free_cancellation_until = UNSET
        elif isinstance(self.free_cancellation_until, datetime.datetime):
            free_cancellation_until = self.free_cancellation_until.isoformat()
        else:
            free_cancellation_until = self.free_cancellation_until

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "event_id": event_id,
                "type": type_,
                "audience": audience,
                "therapist_id": therapist_id,
                "occurred_at": occurred_at,
            }
        )
        if channel is not UNSET:
            field_dict["channel"] = channel
        if confirmation is not UNSET:
            field_dict["confirmation"] = confirmation
        if catalogue_version is not UNSET:
            field_dict["catalogue_version"] = catalogue_version
        if session_id is not UNSET:
            field_dict["session_id"] = session_id
        if client_id is not UNSET:
            field_dict["client_id"] = client_id
        if codes is not UNSET:
            field_dict["codes"] = codes
        if amount_minor is not UNSET:
            field_dict["amount_minor"] = amount_minor
        if currency is not UNSET:
            field_dict["currency"] = currency
        if related_session_id is not UNSET:
            field_dict["related_session_id"] = related_session_id
        if payment_intent_client_secret is not UNSET:
            field_dict["payment_intent_client_secret"] = payment_intent_client_secret
        if reminder_number is not UNSET:
            field_dict["reminder_number"] = reminder_number
        if slot_id is not UNSET:
            field_dict["slot_id"] = slot_id
        if start is not UNSET:
            field_dict["start"] = start
        if start_local_client is not UNSET:
            field_dict["start_local_client"] = start_local_client
        if start_local_therapist is not UNSET:
            field_dict["start_local_therapist"] = start_local_therapist
        if client_timezone is not UNSET:
            field_dict["client_timezone"] = client_timezone
        if therapist_timezone is not UNSET:
            field_dict["therapist_timezone"] = therapist_timezone
        if client_local_time_changed is not UNSET:
            field_dict["client_local_time_changed"] = client_local_time_changed
        if charge_at is not UNSET:
            field_dict["charge_at"] = charge_at
        if free_cancellation_until is not UNSET:
            field_dict["free_cancellation_until"] = free_cancellation_until

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.notification_codes import NotificationCodes  # noqa: PLC0415

        d = dict(src_dict)
        event_id = d.pop("event_id")

        type_ = NotificationType(d.pop("type"))

        audience = Audience(d.pop("audience"))

        therapist_id = d.pop("therapist_id")

        occurred_at = datetime.datetime.fromisoformat(d.pop("occurred_at"))

        _channel = d.pop("channel", UNSET)
        channel: Channel | Unset
        if isinstance(_channel, Unset):
            channel = UNSET
        else:
            channel = Channel(_channel)

        confirmation = d.pop("confirmation", UNSET)

        catalogue_version = d.pop("catalogue_version", UNSET)

        def _parse_session_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        session_id = _parse_session_id(d.pop("session_id", UNSET))

        def _parse_client_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        client_id = _parse_client_id(d.pop("client_id", UNSET))

        _codes = d.pop("codes", UNSET)
        codes: NotificationCodes | Unset
        if isinstance(_codes, Unset):
            codes = UNSET
        else:
            codes = NotificationCodes.from_dict(_codes)

        def _parse_amount_minor(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        amount_minor = _parse_amount_minor(d.pop("amount_minor", UNSET))

        def _parse_currency(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        currency = _parse_currency(d.pop("currency", UNSET))

        def _parse_related_session_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        related_session_id = _parse_related_session_id(d.pop("related_session_id", UNSET))

        def _parse_payment_intent_client_secret(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        payment_intent_client_secret = _parse_payment_intent_client_secret(d.pop("payment_intent_client_secret", UNSET))

        def _parse_reminder_number(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        reminder_number = _parse_reminder_number(d.pop("reminder_number", UNSET))

        def _parse_slot_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        slot_id = _parse_slot_id(d.pop("slot_id", UNSET))

        def _parse_start(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                start_type_0 = datetime.datetime.fromisoformat(data)

                return start_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        start = _parse_start(d.pop("start", UNSET))

        def _parse_start_local_client(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                start_local_client_type_0 = datetime.datetime.fromisoformat(data)

                return start_local_client_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        start_local_client = _parse_start_local_client(d.pop("start_local_client", UNSET))

        def _parse_start_local_therapist(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                start_local_therapist_type_0 = datetime.datetime.fromisoformat(data)

                return start_local_therapist_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        start_local_therapist = _parse_start_local_therapist(d.pop("start_local_therapist", UNSET))

        def _parse_client_timezone(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        client_timezone = _parse_client_timezone(d.pop("client_timezone", UNSET))

        def _parse_therapist_timezone(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        therapist_timezone = _parse_therapist_timezone(d.pop("therapist_timezone", UNSET))

        def _parse_client_local_time_changed(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        client_local_time_changed = _parse_client_local_time_changed(d.pop("client_local_time_changed", UNSET))

        def _parse_charge_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                charge_at_type_0 = datetime.datetime.fromisoformat(data)

                return charge_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        charge_at = _parse_charge_at(d.pop("charge_at", UNSET))

        def _parse_free_cancellation_until(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                free_cancellation_until_type_0 = datetime.datetime.fromisoformat(data)

                return free_cancellation_until_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        free_cancellation_until = _parse_free_cancellation_until(d.pop("free_cancellation_until", UNSET))

        notification = cls(
            event_id=event_id,
            type_=type_,
            audience=audience,
            therapist_id=therapist_id,
            occurred_at=occurred_at,
            channel=channel,
            confirmation=confirmation,
            catalogue_version=catalogue_version,
            session_id=session_id,
            client_id=client_id,
            codes=codes,
            amount_minor=amount_minor,
            currency=currency,
            related_session_id=related_session_id,
            payment_intent_client_secret=payment_intent_client_secret,
            reminder_number=reminder_number,
            slot_id=slot_id,
            start=start,
            start_local_client=start_local_client,
            start_local_therapist=start_local_therapist,
            client_timezone=client_timezone,
            therapist_timezone=therapist_timezone,
            client_local_time_changed=client_local_time_changed,
            charge_at=charge_at,
            free_cancellation_until=free_cancellation_until,
        )

        notification.additional_properties = d
        return notification

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
