"""Seeded lifecycle scripts, the compressed policy they run under, and what each must end in.

Every duration of :class:`SessionPolicy` is scaled (one policy hour is ``hour_seconds`` real
seconds), so a whole lifecycle — booked, charged at start − 48 h, cancelled, attended — runs in a
minute or two of real time on the real server clock. Each script's steps sit far from the rule
boundaries they exercise (a free cancellation many policy hours before the deadline, a late one
well inside the window, a card fixed long before the last retry), so no injected fault can
legitimately change the outcome: a session ending otherwise is a finding.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum

from domain.attendance import ContinueChoice
from domain.policy import SessionPolicy, refund_owed
from domain.status import Actor, BookingKind, SessionStatus

AMOUNT_MINOR = 6000
CURRENCY = "gbp"
DURATION_MINUTES = 1  # the shortest booking; the attendance update is filed at the start anyway
SLOT_DURATION_MINUTES = 15  # a reserved weekly slot (domain.slots.WeeklySlotRule) is at least this long


class LifecyclePath(StrEnum):
    FREE_CANCEL = "free_cancel"
    LATE_CANCEL = "late_cancel"
    THERAPIST_CANCEL = "therapist_cancel"
    ATTENDED = "attended"
    NO_SHOW = "no_show"
    SOFT_DECLINE_RETRY = "soft_decline_retry"
    SOFT_DECLINE_UNPAID = "soft_decline_unpaid"
    AUTH_REQUIRED = "authentication_required"
    HARD_DECLINE_NEW_CARD = "hard_decline_new_card"
    RESCHEDULE = "reschedule"
    UNFILED = "unfiled"
    PAID_AT_THE_WIRE = "paid_at_the_wire"


WEIGHTS: dict[LifecyclePath, int] = {
    LifecyclePath.FREE_CANCEL: 10,
    LifecyclePath.LATE_CANCEL: 10,
    LifecyclePath.THERAPIST_CANCEL: 10,
    LifecyclePath.ATTENDED: 14,
    LifecyclePath.NO_SHOW: 8,
    LifecyclePath.SOFT_DECLINE_RETRY: 10,
    LifecyclePath.SOFT_DECLINE_UNPAID: 3,
    LifecyclePath.AUTH_REQUIRED: 9,
    LifecyclePath.HARD_DECLINE_NEW_CARD: 9,
    LifecyclePath.RESCHEDULE: 12,
    LifecyclePath.UNFILED: 3,
    LifecyclePath.PAID_AT_THE_WIRE: 6,
}

# The stand-in's card behaviours (dev/stripe_standin/behaviours.py) by the test pm id prefix.
CARD_PREFIX = {
    "visa": "pm_card_visa",
    "insufficient_funds": "pm_card_chargeDeclinedInsufficientFunds",
    "authentication_required": "pm_card_authenticationRequired",
    "lost_card": "pm_card_chargeDeclinedLostCard",
}


def compressed_policy(hour_seconds: float) -> SessionPolicy:
    """The default policy with every hour lasting ``hour_seconds`` real seconds."""
    hour = timedelta(seconds=hour_seconds)
    return SessionPolicy(
        free_cancellation_notice=48 * hour,
        charge_attempt_offsets=(48 * hour, 24 * hour, 12 * hour),
        auto_cancel_before=1 * hour,
        attendance_reminder_offsets=(24 * hour, 72 * hour),
        min_duration=timedelta(minutes=DURATION_MINUTES),
        # The marketplace's 24 h (at least 2 h) notice for a client's booking is in real hours,
        # which a compressed drill's seconds-long "hours" cannot express: not applied here.
        client_min_notice=None,
    )


@dataclass(frozen=True)
class Script:
    """One lifecycle: what is booked and what people do, in policy hours from the booking."""

    index: int
    path: LifecyclePath
    session_id: str
    therapist_id: str
    client_id: str
    customer_id: str
    kind: BookingKind
    card: str
    lead_hours: float
    """The start, in policy hours after the booking."""
    launch_delay_seconds: float
    actor: Actor = Actor.CLIENT
    after_paid: bool = False
    """Cancel or move only once the session is paid."""
    discretionary_refund: bool = False
    continue_choice: ContinueChoice = ContinueChoice.NO
    reserve_slot: bool = False
    cancel_follow_up: bool = False
    refund: bool = False
    """A no-show's discretionary refund, filed with the attendance update."""
    move_hours: float = 0.0
    pay_hours_before: float = 0.0
    """``paid_at_the_wire``: the client pays on-session this many policy hours before the start."""

    @property
    def duration_minutes(self) -> int:
        return SLOT_DURATION_MINUTES if self.reserve_slot else DURATION_MINUTES

    @property
    def payment_method_id(self) -> str | None:
        if self.kind is BookingKind.INITIAL_PREPAID:
            return None
        return f"{CARD_PREFIX[self.card]}_{self.session_id}"

    @property
    def charged(self) -> bool:
        """Whether a payment is taken at some point (refunded or not)."""
        if self.kind is BookingKind.INITIAL_PREPAID:
            return True
        if self.path is LifecyclePath.FREE_CANCEL or self.path is LifecyclePath.SOFT_DECLINE_UNPAID:
            return False
        if self.path is LifecyclePath.THERAPIST_CANCEL:
            return self.after_paid
        return True

    @property
    def client_cancel_intended_free(self) -> bool | None:
        if self.path is LifecyclePath.FREE_CANCEL:
            return True
        if self.path is LifecyclePath.LATE_CANCEL:
            return False
        return None


def _ids(rng: random.Random, index: int, seed: int) -> tuple[str, str, str, str]:
    token = f"{seed:x}{index:05d}{rng.getrandbits(24):06x}"
    return f"ses_{token}", f"thr_{token}", f"cli_{token}", f"cus_{token}"


def generate(count: int, seed: int, concurrency: int, lifecycle_seconds: float) -> list[Script]:
    """``count`` scripts drawn from ``WEIGHTS`` with ``seed``; launches spread so that about
    ``concurrency`` lifecycles (each ~``lifecycle_seconds``) run at once. When ``count`` allows,
    every path is played at least once (the first scripts, in a seeded order), so a reduced run
    never loses a path to the draw."""
    rng = random.Random(seed)
    paths = list(WEIGHTS)
    weights = [WEIGHTS[path] for path in paths]
    every_path = rng.sample(paths, k=len(paths)) if count >= len(paths) else []
    pace = lifecycle_seconds / max(1, concurrency)
    scripts = []
    for index in range(count):
        path = every_path[index] if index < len(every_path) else rng.choices(paths, weights)[0]
        session_id, therapist_id, client_id, customer_id = _ids(rng, index, seed)
        launch = index * pace + rng.uniform(0, pace)
        scripts.append(_script(rng, index, path, session_id, therapist_id, client_id, customer_id, launch))
    return scripts


def _script(
    rng: random.Random,
    index: int,
    path: LifecyclePath,
    session_id: str,
    therapist_id: str,
    client_id: str,
    customer_id: str,
    launch: float,
) -> Script:
    follow_up = BookingKind.THERAPIST_FOLLOW_UP
    base = Script(
        index=index,
        path=path,
        session_id=session_id,
        therapist_id=therapist_id,
        client_id=client_id,
        customer_id=customer_id,
        kind=follow_up,
        card="visa",
        # The charge falls 8–14 policy hours after the booking: far from "at once", far from the start.
        lead_hours=48 + rng.uniform(8, 14),
        launch_delay_seconds=launch,
    )
    if path is LifecyclePath.FREE_CANCEL:
        return replace(base, kind=rng.choice([follow_up, follow_up, BookingKind.INITIAL_PREPAID]))
    if path is LifecyclePath.LATE_CANCEL:
        return replace(
            base,
            kind=rng.choice([follow_up, BookingKind.CLIENT_FOLLOW_UP, BookingKind.INITIAL_PREPAID]),
            after_paid=True,
            discretionary_refund=rng.random() < 0.4,
        )
    if path is LifecyclePath.THERAPIST_CANCEL:
        kind = rng.choice([follow_up, follow_up, BookingKind.CLIENT_FOLLOW_UP, BookingKind.INITIAL_PREPAID])
        return replace(
            base,
            kind=kind,
            actor=rng.choice([Actor.THERAPIST, Actor.ADMIN]),
            # Only a therapist-booked session is still unpaid after booking.
            after_paid=kind is not follow_up or rng.random() < 0.5,
        )
    if path is LifecyclePath.ATTENDED:
        choice = rng.choice([ContinueChoice.NO, ContinueChoice.SAME_TIME, ContinueChoice.DIFFERENT_TIME])
        kind = rng.choice([follow_up, follow_up, BookingKind.CLIENT_FOLLOW_UP, BookingKind.INITIAL_PREPAID])
        if kind is BookingKind.INITIAL_PREPAID:
            # Paid at checkout, so no saved card: the rules refuse a therapist's rebooking
            # (no_saved_card); the client books the follow-up themselves.
            choice = ContinueChoice.NO
        return replace(
            base,
            kind=kind,
            continue_choice=choice,
            reserve_slot=rng.random() < 0.4,
            cancel_follow_up=choice is not ContinueChoice.NO and rng.random() < 0.5,
        )
    if path is LifecyclePath.NO_SHOW:
        return replace(
            base,
            kind=rng.choice([follow_up, BookingKind.CLIENT_FOLLOW_UP, BookingKind.INITIAL_PREPAID]),
            refund=rng.random() < 0.5,
        )
    if path is LifecyclePath.SOFT_DECLINE_RETRY or path is LifecyclePath.SOFT_DECLINE_UNPAID:
        return replace(base, card="insufficient_funds")
    if path is LifecyclePath.AUTH_REQUIRED:
        return replace(base, card="authentication_required")
    if path is LifecyclePath.HARD_DECLINE_NEW_CARD:
        return replace(base, card="lost_card")
    if path is LifecyclePath.PAID_AT_THE_WIRE:
        return _paid_at_the_wire(rng, base)
    if path is LifecyclePath.RESCHEDULE:
        after_paid = rng.random() < 0.5
        return replace(
            base,
            # Before the charge the therapist, or the client with notice, moves it; once paid
            # (inside the window) a client's move is late and the payment is carried.
            actor=Actor.CLIENT if after_paid else rng.choice([Actor.THERAPIST, Actor.CLIENT]),
            after_paid=after_paid,
            move_hours=rng.uniform(4, 10),
        )
    return base


def _paid_at_the_wire(rng: random.Random, base: Script) -> Script:
    """SCA: the off-session charge needs the client, who pays on-session shortly before the
    auto-cancel at start − 1 h while Stripe's ``payment_intent.succeeded`` webhook is held until
    the auto-cancel has been decided. The payment lands 1.5–2 policy hours before start − 1 h (the
    driver checks it landed before), so no fault can legitimately turn it into a cancellation: the
    auto-cancel must read the PaymentIntent and find it paid."""
    kind = rng.choice([BookingKind.THERAPIST_FOLLOW_UP, BookingKind.CLIENT_FOLLOW_UP])
    return replace(base, kind=kind, card="authentication_required", pay_hours_before=rng.uniform(2.5, 3.0))


@dataclass(frozen=True)
class Expected:
    """What the rules demand of one session at the end of the run."""

    status: SessionStatus
    closed: bool
    charges: int
    """Successful charges at Stripe for this session: 1 when it owes (or owed) a payment."""
    refund_minor: int


def expected_outcome(script: Script, recorded_status: SessionStatus | None) -> Expected:
    """The end state from the script and the domain rules.

    ``recorded_status`` is, for a cancellation, the status the rules give for the receipt time the
    session recorded (``cancellation_status``); it is compared with the script's intent separately.
    """
    charged = script.charged
    paid = AMOUNT_MINOR if charged else 0
    path = script.path
    if path in (LifecyclePath.FREE_CANCEL, LifecyclePath.LATE_CANCEL, LifecyclePath.THERAPIST_CANCEL):
        status = recorded_status
        if status is None:  # no cancellation recorded: judge by the script's intent
            intended = script.client_cancel_intended_free
            status = (
                SessionStatus.CANCELLED_BY_THERAPIST
                if intended is None
                else SessionStatus.CANCELLED_FREE
                if intended
                else SessionStatus.CANCELLED_LATE
            )
        return Expected(
            status, True, 1 if charged else 0, refund_owed(status, script.discretionary_refund, paid)
        )
    if path is LifecyclePath.SOFT_DECLINE_UNPAID:
        return Expected(SessionStatus.CANCELLED_UNPAID, True, 0, 0)
    if path is LifecyclePath.UNFILED:
        return Expected(SessionStatus.AWAITING_UPDATE, False, 1, 0)
    if path is LifecyclePath.NO_SHOW:
        # A no-show stays one when the session completes (issue 12), so lists and history show it.
        return Expected(SessionStatus.CLIENT_NO_SHOW, True, 1, paid if script.refund else 0)
    return Expected(SessionStatus.COMPLETED, True, 1, 0)
