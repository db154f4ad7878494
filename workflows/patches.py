"""The ``workflow.patched`` ids of SessionWorkflow: each marks a change to the commands of sessions
already running. A history recorded before the change replays the old path (no marker); a run that
passes the gate records the marker and takes the new one. Ids are never reused or removed while a
history that needs them may still run.
"""

OUTCOME_SURVIVES_SESSION_END = "outcome-survives-session-end"
"""An attendance update filed as the end timer fires keeps its outcome (found by `make bench`)."""

REFUND_ANNOUNCED_AFTER_LOST_ANSWER = "refund-announced-after-lost-answer"
"""A refund whose answer was lost (the retry found the money already back) is announced (found by
`make faults`)."""

AUTO_CANCEL_READS_PAYMENT = "auto-cancel-reads-payment"
"""The auto-cancel reads the PaymentIntent first: a payment made on-session just before it, whose
webhook has not arrived, wins."""

MOVE_CLAIMS_TIME = "move-claims-time"
"""A move claims its new time at the practice (one serialised update) before it is recorded,
instead of the API's read of the practice beforehand: two moves or a move and a reservation of the
same time can no longer both pass."""

FOLLOW_UP_CLAIMS_TIME = "follow-up-claims-time"
"""The attendance update claims the follow-up's time (with the weekly slot, if reserved) in one
serialised practice update, instead of reading the practice (a query) and reserving separately."""

CHARGE_OUTAGE_IS_NOT_A_DECLINE = "charge-outage-is-not-a-decline"
"""A charge that never reached Stripe (timeouts, 5xx, 429 until the call's budget ran out) is
tried again soon with the same key, uses no decline attempt and sends no ``charge_failed``; before,
it was recorded as a failed attempt and the client was told (issue 11, hazard 4)."""

TERMS_NOTIFICATIONS = "terms-notifications"
"""Each party is told what the marketplace's terms say (issue 12 §1): the booking confirmed to
both, a cancellation or a move to the other party with a confirmation to whoever acted, a decline
to both (the client's copy with its action), action required and a pending payment, payment
reminders at the later attempt instants (a new timer), a recovery to the therapist, a reserved
slot's in-app confirmation, the relationship's end as the client's dashboard note. Checked once,
at the start of the run: a session running before it keeps, for its whole life, the notices it
was started with (its later commands replay unchanged)."""

PRACTICE_ANNOUNCES_DASHBOARD_ACTIONS = "practice-announces-dashboard-actions"
"""PracticeWorkflow: a slot reserved or released, or a relationship ended, by the therapist in the
dashboard (the API's commands, ``announce``) is told (issue 12 §1): the therapist in the app, the
client a dated dashboard note when the relationship ends. Each is a new activity in a running
practice."""

CHARGE_ANSWER_BOUNDED = "charge-answer-bounded"
"""The read-only ``charge_answer`` update waits at most ``CHARGE_ANSWER_HOLD`` for the charge's
answer (its first recorded runs waited until the charge activity itself ended)."""

NO_SHOW_STAYS_NO_SHOW = "no-show-stays-no-show"
"""A session whose attendance update says ``client_no_show`` keeps that status when it completes
(its last search-attribute upsert to ``completed`` is no longer made); before, it became
``completed`` and lists could no longer tell a no-show from a session that took place (issue 12)."""

MONEY_OWED_WHILE_CLOSING = "money-owed-while-closing"
"""Money owed again while the session waits for its last handlers before closing (a refund granted
in that moment, a payment reported then) is paid before it closes; before, the session closed with
it owed (issue 12: refunds may now be granted at any time)."""

LEAN_LIFECYCLE = "lean-lifecycle"
"""Issue 13: a session costs the engine's floor in Actions. Checked once, at the start of the run
(a session running before keeps its commands for its whole life): the notices of one workflow task
go out in one local activity (``deliver_notifications``); the status is upserted only when the
session waits (with ``SessionPaymentIntent`` once paid), never for a status visible for
milliseconds; no timer marks the session's end (past ``SessionEnd`` a paid session reads as
``awaiting_update``; the first reminder's timer ends it); a move and the attendance update call
the practice through local activities, and the follow-up is started by one
(``start_follow_up``, a client start) instead of as a child workflow."""

LEAN_FROM_FIRST_TASK = "lean-from-first-task"
"""A command delivered with a session's first workflow task runs before the run starts; it decides
the lean lifecycle itself, instead of taking the old path until the run decides it (found by review:
its notices went out as one activity each, its status as an upsert of its own)."""

DISPUTES_ANSWERED = "disputes-answered"
"""Issue 14 §3: a ``dispute_event`` signal (Stripe's ``charge.dispute.*``, confirmed) is recorded on
the session — a refund owed against a disputed charge is held while the dispute is open or lost and
paid once it is won, and the therapist is told (``dispute_opened`` / ``dispute_closed``). Consulted
in the signal's handler, of SessionWorkflow and of SessionRefundsWorkflow (a closed session's
disputes): a history recorded with the marker replays the new path; one without never had the
signal."""

DISPUTE_EVIDENCE_SUBMITTED = "dispute-evidence-submitted"
"""Issue 14 §3: when a dispute that needs a response first reaches the session, the evidence pack
built from its history goes to the ``submit_dispute_evidence`` activity (which submits it to
Stripe when the worker is configured to, ``SESSIONFLOW_DISPUTE_EVIDENCE_SUBMIT``); a new activity in
the ``dispute_event`` handler, so histories recorded with ``disputes-answered`` alone replay as
they were."""

DISPUTES_BY_ID = "disputes-by-id"
"""Issue 14 review (finding 5): a ``dispute_event`` fact is the session's only when its account (a
Connect event's ``account``, or none) is the session's ``connected_account_id`` (or none) and its
PaymentIntent is one the session knows (its own or a recorded extra payment); the session keeps one
record per dispute id (a second dispute is no longer ignored while a first is open), and a dispute
of an extra payment holds that payment's refund (none after it was lost). Consulted in the signal's
handler, of SessionWorkflow and SessionRefundsWorkflow: a fact ignored or recorded differently
changes the notices and refunds that follow, so histories recorded with ``disputes-answered`` alone
replay the old rule."""

DISPUTE_EVIDENCE_EVERY_ANSWER = "dispute-evidence-every-answer"
"""Issue 14 review (finding 6): the evidence pack is submitted whenever a dispute asks for an answer:
also when an inquiry escalates to a chargeback (``warning_…`` → ``needs_response``), and by
SessionRefundsWorkflow for a closed session's dispute (from the pack the closed session's workflow
gave at its start, ``ClosedSessionRefunds.evidence``). New activities in the ``dispute_event``
handlers."""

PRACTICE_PAYMENT_ACCOUNT = "practice-payment-account"
"""PracticeWorkflow (issue 14 §2): setting the therapist's connected account publishes it as the
``PaymentAccountId`` search attribute (an upsert), and a pause recorded from Stripe tells the
therapist (``payments_paused``, a new activity). Both are new commands in a running practice."""

CHARGE_HELD_WHILE_PAUSED = "charge-held-while-paused"
"""Issue 14 §2: a charge the therapist's connected account cannot take (``ChargeOutcome.HELD``) is
held — status ``payment_on_hold``, both parties told once (``payment_on_hold``), checked again at
the later attempt instants or at once on the ``payment_account_event`` signal — and a session still
held at its auto-cancel instant is cancelled as the therapist's cancellation (nothing charged, both
told). Only sessions charged on a connected account ever take this path."""

CHARGE_HELD_SETTLES = "charge-held-settles"
"""Review 14 (findings 1, 4): a held charge follows what Stripe and the session say. A
``payment_intent.succeeded`` reaching a held session settles it (a try whose answer was lost went
through before the pause); a held real try may have left a PaymentIntent, so the held session's
cancellation voids it (or refunds it, found paid); a move moves the held charge's next check with
the new start. Checked once, at the start of the run, and only for a session charged on a
connected account: a session running before keeps the old held path (its commands replay)."""

HELD_LAST_LOOK = "held-last-look"
"""Review 14 (finding 7): a session still held at its auto-cancel instant takes a last look at the
account first (the charge activity once more: it reads the account, and charges only if it can) —
a resume that missed the session (its signal lost, the account enabled without an event) no longer
cancels a chargeable session as the therapist's. A new activity at the auto-cancel, consulted
there: a held history recorded without the marker cancels at once, as it did."""

SESSION_UNREPORTED_CLOSE = "session-unreported-close"
"""Issue 15 §3: a session whose attendance update has not come by its policy's deadline after the
end (``unreported_after``, 30 days by default, later than the last reminder) closes as
``unreported`` (``domain.unreported``): a timer after the last reminder, then the therapist's
``session_unreported`` notice, and the workflow completes; before, it waited for ever. Consulted
when the session would start that timer (only a policy that carries ``unreported_after`` has one,
so no session booked before the field existed ever consults it): a history recorded without the
marker keeps waiting for ever, as it did."""

REFUNDS_WAIT_FOR_OPEN_DISPUTE = "refunds-wait-for-open-dispute"
"""SessionRefundsWorkflow (issue 15, retention's "waits with no bound"): when the refund period
ends while a dispute it recorded open holds a refund it owes, it no longer closes with the refund
held (a win after that was never paid: nothing took the close). It waits for the dispute's close
(still taken past the period, for that dispute only), bounded by ``DISPUTE_DECISION_BOUND``; then
it reads the dispute from Stripe (``read_dispute``, a new activity) and, if still open, hands the
session to ops (``sessionflow_money_blocked_total{operation="refund_held_by_dispute"}``) and closes.
Consulted at the period's end only when such a dispute holds a refund: a refunds workflow recorded
without the marker closed there, and replays so."""
