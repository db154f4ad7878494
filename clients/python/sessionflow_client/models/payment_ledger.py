from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.payment_status import PaymentStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.charge_attempt import ChargeAttempt
    from ..models.commission_rates import CommissionRates
    from ..models.extra_payment import ExtraPayment
    from ..models.refund_grant import RefundGrant
    from ..models.refund_record import RefundRecord


T = TypeVar("T", bound="PaymentLedger")


@_attrs_define
class PaymentLedger:
    """Everything the session knows about its money; the workflow's single source for it.

    Attributes:
        amount_minor (int):
        currency (str):
        status (PaymentStatus | Unset): The money side of a session, kept apart from its lifecycle status.
        payment_method_id (None | str | Unset):
        payment_intent_id (None | str | Unset):
        client_secret (None | str | Unset):
        amount_paid_minor (int | Unset):  Default: 0.
        amount_refunded_minor (int | Unset):  Default: 0.
        next_charge_at (datetime.datetime | None | Unset):
        held_since (datetime.datetime | None | Unset):
        held_reason (None | str | Unset):
        retry_now (bool | Unset):  Default: False.
        attempts (list[ChargeAttempt] | Unset):
        refunds (list[RefundRecord] | Unset):
        last_attempted_payment_method_id (None | str | Unset):
        refund_requests (int | Unset):  Default: 0.
        void_requests (int | Unset):  Default: 0.
        voided (bool | Unset):  Default: False.
        charge_kept_by_late_move (bool | Unset):  Default: False.
        blocked_reason (None | str | Unset):
        unreachable_tries (int | Unset):  Default: 0.
        unreachable_since (datetime.datetime | None | Unset):
        unreachable_reason (None | str | Unset):
        charge_key_generation (int | Unset):  Default: 0.
        charge_key_first_used_at (datetime.datetime | None | Unset):
        unanswered_charge (bool | Unset):  Default: False.
        ops_blocked (None | str | Unset):
        extra_payments (list[ExtraPayment] | Unset):
        granted_refunds (list[RefundGrant] | Unset):
        connected_account_id (None | str | Unset):
        commission (CommissionRates | None | Unset):
        application_fee_minor (int | None | Unset):
        application_fee_refunded_minor (int | None | Unset):
    """

    amount_minor: int
    currency: str
    status: PaymentStatus | Unset = UNSET
    payment_method_id: None | str | Unset = UNSET
    payment_intent_id: None | str | Unset = UNSET
    client_secret: None | str | Unset = UNSET
    amount_paid_minor: int | Unset = 0
    amount_refunded_minor: int | Unset = 0
    next_charge_at: datetime.datetime | None | Unset = UNSET
    held_since: datetime.datetime | None | Unset = UNSET
    held_reason: None | str | Unset = UNSET
    retry_now: bool | Unset = False
    attempts: list[ChargeAttempt] | Unset = UNSET
    refunds: list[RefundRecord] | Unset = UNSET
    last_attempted_payment_method_id: None | str | Unset = UNSET
    refund_requests: int | Unset = 0
    void_requests: int | Unset = 0
    voided: bool | Unset = False
    charge_kept_by_late_move: bool | Unset = False
    blocked_reason: None | str | Unset = UNSET
    unreachable_tries: int | Unset = 0
    unreachable_since: datetime.datetime | None | Unset = UNSET
    unreachable_reason: None | str | Unset = UNSET
    charge_key_generation: int | Unset = 0
    charge_key_first_used_at: datetime.datetime | None | Unset = UNSET
    unanswered_charge: bool | Unset = False
    ops_blocked: None | str | Unset = UNSET
    extra_payments: list[ExtraPayment] | Unset = UNSET
    granted_refunds: list[RefundGrant] | Unset = UNSET
    connected_account_id: None | str | Unset = UNSET
    commission: CommissionRates | None | Unset = UNSET
    application_fee_minor: int | None | Unset = UNSET
    application_fee_refunded_minor: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.commission_rates import CommissionRates  # noqa: PLC0415

        amount_minor = self.amount_minor

        currency = self.currency

        status: str | Unset = UNSET
        if not isinstance(self.status, Unset):
            status = self.status.value

        payment_method_id: None | str | Unset
        if isinstance(self.payment_method_id, Unset):
            payment_method_id = UNSET
        else:
            payment_method_id = self.payment_method_id

        payment_intent_id: None | str | Unset
        if isinstance(self.payment_intent_id, Unset):
            payment_intent_id = UNSET
        else:
            payment_intent_id = self.payment_intent_id

        client_secret: None | str | Unset
        if isinstance(self.client_secret, Unset):
            client_secret = UNSET
        else:
            client_secret = self.client_secret

        amount_paid_minor = self.amount_paid_minor

        amount_refunded_minor = self.amount_refunded_minor

        next_charge_at: None | str | Unset
        if isinstance(self.next_charge_at, Unset):
            next_charge_at = UNSET
        elif isinstance(self.next_charge_at, datetime.datetime):
            next_charge_at = self.next_charge_at.isoformat()
        else:
            next_charge_at = self.next_charge_at

        held_since: None | str | Unset
        if isinstance(self.held_since, Unset):
            held_since = UNSET
        elif isinstance(self.held_since, datetime.datetime):
            held_since = self.held_since.isoformat()
        else:
            held_since = self.held_since

        held_reason: None | str | Unset
        if isinstance(self.held_reason, Unset):
            held_reason = UNSET
        else:
            held_reason = self.held_reason

        retry_now = self.retry_now

        attempts: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.attempts, Unset):
            attempts = []
            for attempts_item_data in self.attempts:
                attempts_item = attempts_item_data.to_dict()
                attempts.append(attempts_item)

        refunds: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.refunds, Unset):
            refunds = []
            for refunds_item_data in self.refunds:
                refunds_item = refunds_item_data.to_dict()
                refunds.append(refunds_item)

        last_attempted_payment_method_id: None | str | Unset
        if isinstance(self.last_attempted_payment_method_id, Unset):
            last_attempted_payment_method_id = UNSET
        else:
            last_attempted_payment_method_id = self.last_attempted_payment_method_id

        refund_requests = self.refund_requests

        void_requests = self.void_requests

        voided = self.voided

        charge_kept_by_late_move = self.charge_kept_by_late_move

        blocked_reason: None | str | Unset
        if isinstance(self.blocked_reason, Unset):
            blocked_reason = UNSET
        else:
            blocked_reason = self.blocked_reason

        unreachable_tries = self.unreachable_tries

        unreachable_since: None | str | Unset
        if isinstance(self.unreachable_since, Unset):
            unreachable_since = UNSET
        elif isinstance(self.unreachable_since, datetime.datetime):
            unreachable_since = self.unreachable_since.isoformat()
        else:
            unreachable_since = self.unreachable_since

        unreachable_reason: None | str | Unset
        if isinstance(self.unreachable_reason, Unset):
            unreachable_reason = UNSET
        else:
            unreachable_reason = self.unreachable_reason

        charge_key_generation = self.charge_key_generation

        charge_key_first_used_at: None | str | Unset
        if isinstance(self.charge_key_first_used_at, Unset):
            charge_key_first_used_at = UNSET
        elif isinstance(self.charge_key_first_used_at, datetime.datetime):
            charge_key_first_used_at = self.charge_key_first_used_at.isoformat()
        else:
            charge_key_first_used_at = self.charge_key_first_used_at

        unanswered_charge = self.unanswered_charge

        ops_blocked: None | str | Unset
        if isinstance(self.ops_blocked, Unset):
            ops_blocked = UNSET
        else:
            ops_blocked = self.ops_blocked

        extra_payments: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.extra_payments, Unset):
            extra_payments = []
            for extra_payments_item_data in self.extra_payments:
                extra_payments_item = extra_payments_item_data.to_dict()
                extra_payments.append(extra_payments_item)

        granted_refunds: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.granted_refunds, Unset):
            granted_refunds = []
            for granted_refunds_item_data in self.granted_refunds:
                granted_refunds_item = granted_refunds_item_data.to_dict()
                granted_refunds.append(granted_refunds_item)

        connected_account_id: None | str | Unset
        if isinstance(self.connected_account_id, Unset):
            connected_account_id = UNSET
        else:
            connected_account_id = self.connected_account_id

        commission: dict[str, Any] | None | Unset
        if isinstance(self.commission, Unset):
            commission = UNSET
        elif isinstance(self.commission, CommissionRates):
            commission = self.commission.to_dict()
        else:
            commission = self.commission

        application_fee_minor: int | None | Unset
        if isinstance(self.application_fee_minor, Unset):
            application_fee_minor = UNSET
        else:
            application_fee_minor = self.application_fee_minor

        application_fee_refunded_minor: int | None | Unset
        if isinstance(self.application_fee_refunded_minor, Unset):
            application_fee_refunded_minor = UNSET
        else:
            application_fee_refunded_minor = self.application_fee_refunded_minor

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "amount_minor": amount_minor,
                "currency": currency,
            }
        )
        if status is not UNSET:
            field_dict["status"] = status
        if payment_method_id is not UNSET:
            field_dict["payment_method_id"] = payment_method_id
        if payment_intent_id is not UNSET:
            field_dict["payment_intent_id"] = payment_intent_id
        if client_secret is not UNSET:
            field_dict["client_secret"] = client_secret
        if amount_paid_minor is not UNSET:
            field_dict["amount_paid_minor"] = amount_paid_minor
        if amount_refunded_minor is not UNSET:
            field_dict["amount_refunded_minor"] = amount_refunded_minor
        if next_charge_at is not UNSET:
            field_dict["next_charge_at"] = next_charge_at
        if held_since is not UNSET:
            field_dict["held_since"] = held_since
        if held_reason is not UNSET:
            field_dict["held_reason"] = held_reason
        if retry_now is not UNSET:
            field_dict["retry_now"] = retry_now
        if attempts is not UNSET:
            field_dict["attempts"] = attempts
        if refunds is not UNSET:
            field_dict["refunds"] = refunds
        if last_attempted_payment_method_id is not UNSET:
            field_dict["last_attempted_payment_method_id"] = last_attempted_payment_method_id
        if refund_requests is not UNSET:
            field_dict["refund_requests"] = refund_requests
        if void_requests is not UNSET:
            field_dict["void_requests"] = void_requests
        if voided is not UNSET:
            field_dict["voided"] = voided
        if charge_kept_by_late_move is not UNSET:
            field_dict["charge_kept_by_late_move"] = charge_kept_by_late_move
        if blocked_reason is not UNSET:
            field_dict["blocked_reason"] = blocked_reason
        if unreachable_tries is not UNSET:
            field_dict["unreachable_tries"] = unreachable_tries
        if unreachable_since is not UNSET:
            field_dict["unreachable_since"] = unreachable_since
        if unreachable_reason is not UNSET:
            field_dict["unreachable_reason"] = unreachable_reason
        if charge_key_generation is not UNSET:
            field_dict["charge_key_generation"] = charge_key_generation
        if charge_key_first_used_at is not UNSET:
            field_dict["charge_key_first_used_at"] = charge_key_first_used_at
        if unanswered_charge is not UNSET:
            field_dict["unanswered_charge"] = unanswered_charge
        if ops_blocked is not UNSET:
            field_dict["ops_blocked"] = ops_blocked
        if extra_payments is not UNSET:
            field_dict["extra_payments"] = extra_payments
        if granted_refunds is not UNSET:
            field_dict["granted_refunds"] = granted_refunds
        if connected_account_id is not UNSET:
            field_dict["connected_account_id"] = connected_account_id
        if commission is not UNSET:
            field_dict["commission"] = commission
        if application_fee_minor is not UNSET:
            field_dict["application_fee_minor"] = application_fee_minor
        if application_fee_refunded_minor is not UNSET:
            field_dict["application_fee_refunded_minor"] = application_fee_refunded_minor

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.charge_attempt import ChargeAttempt  # noqa: PLC0415
        from ..models.commission_rates import CommissionRates  # noqa: PLC0415
        from ..models.extra_payment import ExtraPayment  # noqa: PLC0415
        from ..models.refund_grant import RefundGrant  # noqa: PLC0415
        from ..models.refund_record import RefundRecord  # noqa: PLC0415

        d = dict(src_dict)
        amount_minor = d.pop("amount_minor")

        currency = d.pop("currency")

        _status = d.pop("status", UNSET)
        status: PaymentStatus | Unset
        if isinstance(_status, Unset):
            status = UNSET
        else:
            status = PaymentStatus(_status)

        def _parse_payment_method_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        payment_method_id = _parse_payment_method_id(d.pop("payment_method_id", UNSET))

        def _parse_payment_intent_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        payment_intent_id = _parse_payment_intent_id(d.pop("payment_intent_id", UNSET))

        def _parse_client_secret(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        client_secret = _parse_client_secret(d.pop("client_secret", UNSET))

        amount_paid_minor = d.pop("amount_paid_minor", UNSET)

        amount_refunded_minor = d.pop("amount_refunded_minor", UNSET)

        def _parse_next_charge_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                next_charge_at_type_0 = datetime.datetime.fromisoformat(data)

                return next_charge_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        next_charge_at = _parse_next_charge_at(d.pop("next_charge_at", UNSET))

        def _parse_held_since(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                held_since_type_0 = datetime.datetime.fromisoformat(data)

                return held_since_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        held_since = _parse_held_since(d.pop("held_since", UNSET))

        def _parse_held_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        held_reason = _parse_held_reason(d.pop("held_reason", UNSET))

        retry_now = d.pop("retry_now", UNSET)

        _attempts = d.pop("attempts", UNSET)
        attempts: list[ChargeAttempt] | Unset = UNSET
        if _attempts is not UNSET:
            attempts = []
            for attempts_item_data in _attempts:
                attempts_item = ChargeAttempt.from_dict(attempts_item_data)

                attempts.append(attempts_item)

        _refunds = d.pop("refunds", UNSET)
        refunds: list[RefundRecord] | Unset = UNSET
        if _refunds is not UNSET:
            refunds = []
            for refunds_item_data in _refunds:
                refunds_item = RefundRecord.from_dict(refunds_item_data)

                refunds.append(refunds_item)

        def _parse_last_attempted_payment_method_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        last_attempted_payment_method_id = _parse_last_attempted_payment_method_id(
            d.pop("last_attempted_payment_method_id", UNSET)
        )

        refund_requests = d.pop("refund_requests", UNSET)

        void_requests = d.pop("void_requests", UNSET)

        voided = d.pop("voided", UNSET)

        charge_kept_by_late_move = d.pop("charge_kept_by_late_move", UNSET)

        def _parse_blocked_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        blocked_reason = _parse_blocked_reason(d.pop("blocked_reason", UNSET))

        unreachable_tries = d.pop("unreachable_tries", UNSET)

        def _parse_unreachable_since(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                unreachable_since_type_0 = datetime.datetime.fromisoformat(data)

                return unreachable_since_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        unreachable_since = _parse_unreachable_since(d.pop("unreachable_since", UNSET))

        def _parse_unreachable_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        unreachable_reason = _parse_unreachable_reason(d.pop("unreachable_reason", UNSET))

        charge_key_generation = d.pop("charge_key_generation", UNSET)

        def _parse_charge_key_first_used_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                charge_key_first_used_at_type_0 = datetime.datetime.fromisoformat(data)

                return charge_key_first_used_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        charge_key_first_used_at = _parse_charge_key_first_used_at(d.pop("charge_key_first_used_at", UNSET))

        unanswered_charge = d.pop("unanswered_charge", UNSET)

        def _parse_ops_blocked(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        ops_blocked = _parse_ops_blocked(d.pop("ops_blocked", UNSET))

        _extra_payments = d.pop("extra_payments", UNSET)
        extra_payments: list[ExtraPayment] | Unset = UNSET
        if _extra_payments is not UNSET:
            extra_payments = []
            for extra_payments_item_data in _extra_payments:
                extra_payments_item = ExtraPayment.from_dict(extra_payments_item_data)

                extra_payments.append(extra_payments_item)

        _granted_refunds = d.pop("granted_refunds", UNSET)
        granted_refunds: list[RefundGrant] | Unset = UNSET
        if _granted_refunds is not UNSET:
            granted_refunds = []
            for granted_refunds_item_data in _granted_refunds:
                granted_refunds_item = RefundGrant.from_dict(granted_refunds_item_data)

                granted_refunds.append(granted_refunds_item)

        def _parse_connected_account_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        connected_account_id = _parse_connected_account_id(d.pop("connected_account_id", UNSET))

        def _parse_commission(data: object) -> CommissionRates | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                commission_type_0 = CommissionRates.from_dict(data)

                return commission_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CommissionRates | None | Unset, data)

        commission = _parse_commission(d.pop("commission", UNSET))

        def _parse_application_fee_minor(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        application_fee_minor = _parse_application_fee_minor(d.pop("application_fee_minor", UNSET))

        def _parse_application_fee_refunded_minor(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        application_fee_refunded_minor = _parse_application_fee_refunded_minor(
            d.pop("application_fee_refunded_minor", UNSET)
        )

        payment_ledger = cls(
            amount_minor=amount_minor,
            currency=currency,
            status=status,
            payment_method_id=payment_method_id,
            payment_intent_id=payment_intent_id,
            client_secret=client_secret,
            amount_paid_minor=amount_paid_minor,
            amount_refunded_minor=amount_refunded_minor,
            next_charge_at=next_charge_at,
            held_since=held_since,
            held_reason=held_reason,
            retry_now=retry_now,
            attempts=attempts,
            refunds=refunds,
            last_attempted_payment_method_id=last_attempted_payment_method_id,
            refund_requests=refund_requests,
            void_requests=void_requests,
            voided=voided,
            charge_kept_by_late_move=charge_kept_by_late_move,
            blocked_reason=blocked_reason,
            unreachable_tries=unreachable_tries,
            unreachable_since=unreachable_since,
            unreachable_reason=unreachable_reason,
            charge_key_generation=charge_key_generation,
            charge_key_first_used_at=charge_key_first_used_at,
            unanswered_charge=unanswered_charge,
            ops_blocked=ops_blocked,
            extra_payments=extra_payments,
            granted_refunds=granted_refunds,
            connected_account_id=connected_account_id,
            commission=commission,
            application_fee_minor=application_fee_minor,
            application_fee_refunded_minor=application_fee_refunded_minor,
        )

        payment_ledger.additional_properties = d
        return payment_ledger

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
