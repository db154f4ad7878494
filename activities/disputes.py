"""Stripe's Dispute API: submit a session's evidence pack (issue 14 §3), when configured.

The pack (``domain.dispute_evidence``) is built by the session's workflow from its recorded
history; this activity only sends it: ``POST /v1/disputes/{id}`` with ``evidence`` and
``submit=true``, under ``Stripe-Account`` when the charge lives on the therapist's connected
account (a direct charge's dispute is the therapist's). Off by default
(``SESSIONFLOW_DISPUTE_EVIDENCE_SUBMIT``): a marketplace usually lets a person look first, so the
pack is exported for its backend instead (``GET /v1/sessions/{id}/dispute-evidence``).

``read_dispute`` reads one dispute's status (``GET /v1/disputes/{id}``): a refunds workflow that
waited Stripe's whole dispute timeline for a close that never came looks before handing the
session to ops (its closing webhook may have been lost).
"""

from __future__ import annotations

from typing import Any

import stripe
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.payments import NON_RETRYABLE_STRIPE_ERRORS
from domain.dispute_evidence import EvidenceSubmission, EvidenceSubmitted
from domain.disputes import DisputeLookup, DisputeNow, DisputeStatus


class DisputeActivities:
    """Bound to one Stripe client and the operator's choice to submit."""

    def __init__(self, client: stripe.StripeClient, *, submit: bool = False) -> None:
        self._stripe = client
        self._submit = submit

    @activity.defn(name="submit_dispute_evidence")
    async def submit_evidence(self, request: EvidenceSubmission) -> EvidenceSubmitted:
        if not self._submit:
            return EvidenceSubmitted(submitted=False)
        options: Any = {"idempotency_key": request.idempotency_key}
        if request.account is not None:
            options["stripe_account"] = request.account
        params: Any = {
            "evidence": request.evidence.to_stripe(),
            "submit": True,
            "metadata": {"session_id": request.session_id},
        }
        try:
            dispute = await self._stripe.v1.disputes.update_async(request.dispute_id, params, options)
        except NON_RETRYABLE_STRIPE_ERRORS as refused:
            # Closed already, or its evidence submitted in the dashboard: nothing to retry.
            raise _refusal("the evidence", refused) from refused
        return EvidenceSubmitted(submitted=True, status=dispute.status)

    @activity.defn(name="read_dispute")
    async def read(self, request: DisputeLookup) -> DisputeNow:
        options: Any = {"stripe_account": request.account} if request.account is not None else {}
        try:
            dispute = await self._stripe.v1.disputes.retrieve_async(request.dispute_id, None, options)
        except NON_RETRYABLE_STRIPE_ERRORS as refused:
            # No such dispute (on that account): a retry cannot change it; the workflow hands it to ops.
            raise _refusal("the dispute read", refused) from refused
        return DisputeNow(status=DisputeStatus(dispute.status))


def _refusal(what: str, refused: Exception) -> ApplicationError:
    """Stripe's refusal as a non-retryable failure typed with its error class."""
    name = type(refused).__name__
    return ApplicationError(f"Stripe refused {what}: {name}", type=name, non_retryable=True)
