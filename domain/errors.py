"""A refusal by a business rule, with a stable machine-readable code."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType


class RuleViolation(ValueError):
    """Raised by a pure rule when a request must be refused.

    ``code`` is stable contract (the API maps it to a 409 body; the workflow uses it as the
    ``ApplicationError`` type); ``message`` is safe to show a person and carries no personal data.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


RULE_CODES: Mapping[str, str] = MappingProxyType(
    {
        "start_in_past": "the (new) start time has already passed",
        "start_too_far": "the (new) start is further ahead than bookings may be made",
        "duration_out_of_range": "the session's length is outside what the policy allows",
        "slot_conflict": "the time falls in another client's reserved weekly slot (the message names it)",
        "session_released": "the session's time was released when it was cancelled: it cannot claim again",
        "move_in_progress": "another move of this session is still being made: send it again once answered",
        "time_taken": "the therapist already has another session at that time, or a weekly slot would "
        "cover another client's booked session (the message names the session)",
        "session_exists": "a different booking already has this session id",
        "session_started": "the session has started: it can no longer be cancelled or moved",
        "session_cancelled": "the session is cancelled: nothing more can change",
        "session_closed": "the session's workflow has finished: nothing more can change",
        "same_start": "the session already starts at that time",
        "already_paid": "the session is paid: a new card is not needed",
        "nothing_to_charge": "no charge is due, so a new card would not be used",
        "session_not_started": "the attendance update opens when the session starts",
        "payment_pending": "the attendance update waits until the session's payment is settled",
        "already_filed": "the attendance update was filed already (its first outcome stands)",
        "consent_required": "a follow-up needs the client's explicit agreement (client_agreed)",
        "not_allowed": "only the therapist or an admin may file this",
        "no_saved_card": "a therapist-booked follow-up needs the client's saved card",
        "slot_duration_out_of_range": "a weekly slot cannot be reserved for a session of this length",
        "relationship_ended": "the relationship with this client has ended (restart it first)",
        "notice_too_short": "a client's own booking needs the policy's minimum notice (24 hours by default, "
        "at least 2); a therapist's booking is not bound by it",
        "start_too_far_back": "a therapist's manual session can be dated only so far in the past (14 days)",
        "nothing_captured": "no payment of the session has been captured, so there is nothing to refund",
        "refund_exceeds_captured": "the refund would exceed what was captured less what was already refunded "
        "(the message says how much is left)",
        "charge_disputed": "the session's charge is disputed by the client's bank: no refund while the "
        "dispute is open or after it was lost (a refund the rules owe is held and paid if it is won)",
        "refund_window_closed": "refunds of this session are no longer possible through the service "
        "(its refund period after it closed has ended)",
        "no_show_marked": "the client was marked as not attending: the attendance update must say "
        "client_no_show",
        "attendance_window_closed": "the attendance update's deadline after the session's end has passed "
        "(30 days by default): the session closed as unreported",
        "request_id_reused": "this request id was used for a different request",
        "therapist_paused": "the therapist's payment account cannot take charges at the moment "
        "(Stripe disabled them): no new bookings until it can",
        "account_unavailable": "Stripe shows no such connected account for this platform (not "
        "connected, or access revoked)",
        "erasure_refused": "a running workflow of the client may hold or be collecting their money, "
        "or handles a dispute or a refund owed (the message lists them; `force` never overrides money): "
        "settle each (cancel as an admin, let it close, let the dispute end), then erase again",
        "client_erased": "the client was erased (GDPR art. 17): no session is booked for them again",
        "erasure_unavailable": "envelope encryption is off (SESSIONFLOW_KMS_DIR): a client cannot be erased",
        "practice_closed": "the therapist's practice has closed: ops restore it (`sessionflow practice`)",
        "invalid_combination": "the request's fields (or a field and the acting party) break a rule "
        "across them that JSON Schema cannot state: the rule is on the field in the OpenAPI, the "
        "message names the field",
        "submitter_not_allowed": "a command filed in the name of a role with more authority than the "
        "filer's (client < therapist < admin)",
        "submitter_not_acting_party": "`submitted_by` names another role than the `Acting-Party`'s",
        "new_start_required": "`continue_sessions: different_time` needs the follow-up's `new_start`",
        "new_start_not_allowed": "`new_start` is only for `continue_sessions: different_time`",
        "end_reason_required": "ending a relationship needs an `end_reason` code",
        "contradictory_update": "the attendance update's choices contradict each other (a follow-up or "
        "a reserved slot with an ending; cancelling future sessions or a refund amount without "
        "ending or refunding)",
        "practice_unavailable": (
            "the therapist's practice did not answer in time: nothing was recorded; "
            "file the update again (with a new Idempotency-Key)"
        ),
    }
)
"""Every code a rule refuses a request with (the API's 409 ``code``), and what it means.

A UI can branch on the code and show ``message``; the table is served in the OpenAPI page.
"""
