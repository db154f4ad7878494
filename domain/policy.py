"""The cancellation and charge policy (README rules 1–6) as pure functions of instants.

"48 hours" is elapsed time: every comparison is between timezone-aware instants, so a daylight
saving change between the cancellation and the session neither adds nor removes an hour.
"""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.errors import RuleViolation
from domain.status import Actor, BookingKind, DeclineKind, SessionStatus

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


CLIENT_NOTICE_RANGE = (2 * HOUR, 24 * HOUR)
"""The marketplace's minimum notice for a client's booking: 24 h by default, reducible to 2 h."""


class SessionPolicy(BaseModel):
    """Every duration of the policy, fixed into the session's history when it is booked."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    free_cancellation_notice: timedelta = Field(default=48 * HOUR, gt=timedelta(0))
    """A client cancellation is free only when received *strictly more* than this before start."""
    charge_attempt_offsets: tuple[timedelta, ...] = (48 * HOUR, 24 * HOUR, 12 * HOUR)
    """Before the start: the scheduled charge, then the retries after a soft decline."""
    auto_cancel_before: timedelta = Field(default=1 * HOUR, gt=timedelta(0))
    """Still unpaid this long before the start: the session is cancelled (``cancelled_unpaid``)."""
    attendance_reminder_offsets: tuple[timedelta, ...] = (24 * HOUR, 72 * HOUR, 7 * 24 * HOUR)
    """After the session's end: remind the therapist to file the attendance update (the terms:
    end + 24 h, + 72 h and + 7 days). Fixed into each session's input when it is booked, so a
    session booked under the earlier default (24 h, 72 h) keeps its two reminders and its
    commands: every recorded input carries the offsets explicitly."""
    unreported_after: timedelta | None = Field(default=None, gt=timedelta(0))
    """How long after its end a session waits for its attendance update before it closes as
    ``unreported`` (``domain.unreported``): later than the last reminder. ``None`` — what every
    session booked before the field existed carries — waits for ever, as those did; bookings get
    :data:`DEFAULT_POLICY`'s :data:`DEFAULT_UNREPORTED_AFTER` (``SESSIONFLOW_UNREPORTED_AFTER_DAYS``)."""
    min_duration: timedelta = timedelta(minutes=15)
    max_duration: timedelta = timedelta(hours=4)
    max_booking_horizon: timedelta = timedelta(days=366)
    charge_spread_window: timedelta = Field(default=timedelta(0), ge=timedelta(0))
    """The scheduled charge falls this long at most *after* ``start − 48 h``, at an offset fixed
    by the session id (:func:`charge_spread_offset`): sessions start on the hour or half hour, so
    their charges would otherwise all hit Stripe in the same second. Never before: until that
    instant the client may still cancel free. 0 (the model's default, and what every session
    booked before the field existed carries) charges exactly at ``start − 48 h``; bookings get
    :data:`DEFAULT_POLICY`'s 10 minutes."""
    stripe_outage_retry_delays: tuple[timedelta, ...] = (
        5 * MINUTE,
        15 * MINUTE,
        30 * MINUTE,
        1 * HOUR,
        2 * HOUR,
    )
    """A charge that could not reach Stripe (its call's whole retry budget spent on timeouts,
    5xx, 429…) is tried again after these delays, the last one repeating: an outage is not a
    decline, so it uses no decline attempt and the client hears nothing."""
    stripe_outage_retry_limit_after_end: timedelta = Field(default=6 * HOUR, ge=timedelta(0))
    """Outage retries are planned only up to this long after the session's end: a charge Stripe
    never answered by then is given up (``payment.ops_blocked = "stripe_unreachable"``, an ERROR
    and a metric), so no session retries for ever nor refuses its attendance update for ever."""
    charge_key_reuse_limit: timedelta = Field(default=20 * HOUR, gt=timedelta(0))
    """A retry after an outage reuses the attempt's idempotency key only while it starts within
    this of the key's first use: with the call's own budget (1 h) it stays inside the 24 h Stripe
    keeps keys for. Later tries look the PaymentIntent up by metadata first, under a new key."""

    client_min_notice: timedelta | None = 24 * HOUR
    """A client's own booking (``initial_prepaid``, ``client_follow_up``) must start at least this
    long after it is made: the marketplace's minimum, 24 h, which may be reduced to 2 h
    (:data:`CLIENT_NOTICE_RANGE`) but never increased. Therapists' bookings are not bound by it.
    ``None`` only in the compressed fault drills, whose "hours" last seconds."""
    manual_backdate_limit: timedelta = Field(default=14 * 24 * HOUR, ge=timedelta(0))
    """How far in the past a therapist may date a manual session (one that took place but was not
    booked): it is charged at once and presented for the attendance update. A client's booking is
    never past-dated."""

    @model_validator(mode="after")
    def _offsets_are_ordered(self) -> SessionPolicy:
        notice = self.client_min_notice
        if notice is not None and not CLIENT_NOTICE_RANGE[0] <= notice <= CLIENT_NOTICE_RANGE[1]:
            raise ValueError("client_min_notice must be between 2 and 24 hours")
        offsets = self.charge_attempt_offsets
        if not offsets:
            raise ValueError("charge_attempt_offsets needs at least the scheduled charge")
        if any(later >= earlier for earlier, later in itertools.pairwise(offsets)):
            raise ValueError("charge_attempt_offsets must be strictly decreasing")
        if offsets[-1] <= self.auto_cancel_before:
            raise ValueError("the last charge attempt must come before the auto-cancel time")
        next_boundary = offsets[1] if len(offsets) > 1 else self.auto_cancel_before
        if self.charge_spread_window >= offsets[0] - next_boundary:
            raise ValueError("charge_spread_window must end before the first retry (or auto-cancel) time")
        if not self.stripe_outage_retry_delays or any(
            delay <= timedelta(0) for delay in self.stripe_outage_retry_delays
        ):
            raise ValueError("stripe_outage_retry_delays needs at least one positive delay")
        reminders = self.attendance_reminder_offsets
        if any(offset <= timedelta(0) for offset in reminders) or list(reminders) != sorted(set(reminders)):
            raise ValueError("attendance_reminder_offsets must be positive and strictly increasing")
        if self.unreported_after is not None and reminders and self.unreported_after <= reminders[-1]:
            raise ValueError("unreported_after must be later than the last attendance reminder")
        if self.min_duration > self.max_duration:
            raise ValueError("min_duration must not exceed max_duration")
        return self


DEFAULT_UNREPORTED_AFTER = timedelta(days=30)
"""A session whose attendance update has not come 30 days after its end closes as ``unreported``:
three weeks after the last reminder (+ 7 days), well inside the 180 days a closed session can still
be refunded (``domain.refunds.REFUND_PERIOD_AFTER_CLOSE``)."""

DEFAULT_POLICY = SessionPolicy(charge_spread_window=10 * MINUTE, unreported_after=DEFAULT_UNREPORTED_AFTER)
"""What the API books with. Its 10-minute charge spread lets the Stripe task queue's rate limit
(``SESSIONFLOW_STRIPE_ACTIVITIES_PER_SECOND``, 10/s: 6,000 calls in the window) absorb the charges
of every session starting at one time, and only ever moves a charge later than ``start − 48 h``.
``settings.session_policy`` is this with the configured ``unreported_after``."""


def _require_aware(*instants: datetime) -> None:
    for instant in instants:
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError("times must be timezone-aware")


def _as_utc(instant: datetime) -> datetime:
    """The same instant in UTC, so arithmetic and comparisons are in elapsed time.

    Python adds a ``timedelta`` to the *wall clock* of a datetime whose tzinfo is a ``ZoneInfo``,
    and compares two datetimes sharing one tzinfo by wall clock: across a DST change that is an
    hour off, so every rule works on UTC instants.
    """
    _require_aware(instant)
    return instant.astimezone(UTC)


def cancellation_deadline(start: datetime, policy: SessionPolicy = DEFAULT_POLICY) -> datetime:
    """The first instant at which a client cancellation is late (it is itself late)."""
    return _as_utc(start) - policy.free_cancellation_notice


def is_free_cancellation(
    start: datetime, received_at: datetime, policy: SessionPolicy = DEFAULT_POLICY
) -> bool:
    """Free iff the server received the cancellation strictly before ``start − notice``."""
    _require_aware(start, received_at)
    return _as_utc(received_at) < cancellation_deadline(start, policy)


def charge_spread_offset(session_id: str, policy: SessionPolicy = DEFAULT_POLICY) -> timedelta:
    """Where in the spread window this session's scheduled charge falls: a whole second in
    ``[0, charge_spread_window)`` from a stable hash of the id (the same on every worker, every
    replay and every Python; ``hash()`` is salted per process)."""
    window = int(policy.charge_spread_window.total_seconds())
    if window <= 0:
        return timedelta(0)
    digest = hashlib.sha256(session_id.encode()).digest()
    return timedelta(seconds=int.from_bytes(digest[:8], "big") % window)


def scheduled_charge_at(
    start: datetime, policy: SessionPolicy = DEFAULT_POLICY, spread: timedelta = timedelta(0)
) -> datetime:
    """``start − 48 h``, moved ``spread`` later (:func:`charge_spread_offset`), never earlier."""
    return _as_utc(start) - policy.charge_attempt_offsets[0] + max(spread, timedelta(0))


def auto_cancel_at(start: datetime, policy: SessionPolicy = DEFAULT_POLICY) -> datetime:
    return _as_utc(start) - policy.auto_cancel_before


def first_charge_at(
    kind: BookingKind,
    start: datetime,
    booked_at: datetime,
    policy: SessionPolicy = DEFAULT_POLICY,
    spread: timedelta = timedelta(0),
) -> datetime | None:
    """When the first charge is due (rule 2); ``None`` when the session was paid at booking.

    A therapist-booked session (follow-up or manual) waits for ``start − 48 h``; a client booking,
    or any booking made after that instant (inside the window, or a past-dated manual session), is
    charged at once.
    """
    _require_aware(start, booked_at)
    if kind is BookingKind.INITIAL_PREPAID:
        return None
    if kind is BookingKind.CLIENT_FOLLOW_UP:
        return booked_at
    return max(scheduled_charge_at(start, policy, spread), booked_at)


def next_retry_at(
    start: datetime, last_attempt_at: datetime, policy: SessionPolicy = DEFAULT_POLICY
) -> datetime | None:
    """The next attempt time after a soft decline, or ``None`` when no retry is left.

    Attempts happen at the policy's offsets before the start (− 48 h, − 24 h, − 12 h): the next
    one is the first of those strictly after the last attempt and before the auto-cancel time.
    Because it is computed from the current start, a rescheduled session's retries follow it.
    """
    _require_aware(start, last_attempt_at)
    deadline = auto_cancel_at(start, policy)
    for offset in policy.charge_attempt_offsets:
        slot = _as_utc(start) - offset
        if last_attempt_at < slot < deadline:
            return slot
    return None


def outage_retry_at(
    failed_at: datetime, unreachable_tries: int, policy: SessionPolicy = DEFAULT_POLICY
) -> datetime:
    """When a charge that could not reach Stripe is tried again, after its ``unreachable_tries``-th
    such try (1 for the first). Not bounded by the auto-cancel time: a session is never cancelled
    unpaid because Stripe could not be reached."""
    delays = policy.stripe_outage_retry_delays
    return _as_utc(failed_at) + delays[min(max(unreachable_tries, 1), len(delays)) - 1]


def classify_decline(code: str | None, decline_code: str | None, advice_code: str | None) -> DeclineKind:
    """Map Stripe's decline codes to what we do next (rule 3)."""
    if code == "authentication_required" or decline_code == "authentication_required":
        return DeclineKind.AUTHENTICATION_REQUIRED
    if advice_code == "do_not_try_again":
        return DeclineKind.HARD
    if code in _HARD_CODES or decline_code in _HARD_DECLINE_CODES:
        return DeclineKind.HARD
    return DeclineKind.SOFT


_HARD_CODES = frozenset(
    {
        "expired_card",
        "incorrect_number",
        "invalid_number",
        "invalid_expiry_month",
        "invalid_expiry_year",
        "invalid_cvc",
        "incorrect_cvc",
        "card_not_supported",
    }
)
_HARD_DECLINE_CODES = frozenset(
    {
        "lost_card",
        "stolen_card",
        "pickup_card",
        "restricted_card",
        "invalid_account",
        "incorrect_number",
        "expired_card",
        "fraudulent",
        "card_not_supported",
        "currency_not_supported",
        "new_account_information_available",
        "revocation_of_authorization",
        "security_violation",
        "stop_payment_order",
        "merchant_blacklist",
    }
)


def cancellation_status(
    requested_by: Actor,
    start: datetime,
    received_at: datetime,
    policy: SessionPolicy = DEFAULT_POLICY,
    *,
    charge_kept_by_late_move: bool = False,
) -> SessionStatus:
    """Who cancelled and when decides the status (rules 1, 4, 5).

    A session the client already moved late keeps its charge (rule 6), so moving it further out
    first cannot turn a late cancellation into a free one.
    """
    if requested_by is Actor.CLIENT:
        if not charge_kept_by_late_move and is_free_cancellation(start, received_at, policy):
            return SessionStatus.CANCELLED_FREE
        return SessionStatus.CANCELLED_LATE
    return SessionStatus.CANCELLED_BY_THERAPIST


def refund_owed(status: SessionStatus, discretionary_refund: bool, amount_paid: int) -> int:
    """How much of a taken payment goes back (rules 1, 4, 5); always all or nothing."""
    if status in _FULL_REFUND:
        return amount_paid
    if status is SessionStatus.CANCELLED_LATE and discretionary_refund:
        return amount_paid
    return 0


_FULL_REFUND = frozenset(
    {
        SessionStatus.CANCELLED_FREE,
        SessionStatus.CANCELLED_BY_THERAPIST,
        # Money that arrives after an unpaid session was auto-cancelled (a late on-session
        # payment) is for a session that no longer takes place.
        SessionStatus.CANCELLED_UNPAID,
    }
)


def charge_still_owed(status: SessionStatus, discretionary_refund: bool) -> bool:
    """Whether an unpaid session must still be charged: live, or a late client cancellation."""
    if status is SessionStatus.CANCELLED_LATE:
        return not discretionary_refund
    return not status.is_cancelled


def check_can_change(status: SessionStatus, start: datetime, now: datetime, action: str) -> None:
    """Nothing is cancelled or moved once cancelled or once the session has started (rule 6)."""
    _require_aware(start, now)
    if status.is_cancelled:
        raise RuleViolation("session_cancelled", f"the session is already cancelled; cannot {action}")
    if _as_utc(now) >= _as_utc(start):
        raise RuleViolation("session_started", f"the session has started; cannot {action}")


def is_late_client_move(
    requested_by: Actor, old_start: datetime, received_at: datetime, policy: SessionPolicy = DEFAULT_POLICY
) -> bool:
    """A client's rearrangement with 48 hours' notice or less: the charge it would move stands."""
    return requested_by is Actor.CLIENT and not is_free_cancellation(old_start, received_at, policy)


def charge_due_after_move(
    *,
    requested_by: Actor,
    old_start: datetime,
    new_start: datetime,
    current_due: datetime | None,
    received_at: datetime,
    last_attempt_at: datetime | None = None,
    policy: SessionPolicy = DEFAULT_POLICY,
    spread: timedelta = timedelta(0),
) -> datetime | None:
    """When an unpaid session's next charge falls due after a rearrangement (rule 6).

    ``current_due`` is the charge planned before the move (``None``: nothing planned, e.g. every
    retry was used); ``last_attempt_at`` the last charge attempt, if any (a soft decline).

    The charge follows the new start: at once when the new start is within the window, else the
    scheduled charge (never attempted) or the first retry slot after the last attempt. A client's
    move with 48 hours' notice or less keeps the charge that was already due.
    """
    if is_late_client_move(requested_by, old_start, received_at, policy):
        return received_at if current_due is None else min(current_due, received_at)
    if scheduled_charge_at(new_start, policy, spread) <= received_at:
        return received_at
    if last_attempt_at is None:
        return scheduled_charge_at(new_start, policy, spread)
    return next_retry_at(new_start, last_attempt_at, policy)
