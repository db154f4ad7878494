"""The workflow ids derived from the opaque domain ids.

A workflow id is how every caller finds a running workflow and how Temporal refuses a second one
for the same session or therapist, so its format never changes.
"""

from __future__ import annotations

from domain.ids import is_opaque_id

SESSION_WORKFLOW_PREFIX = "session-"
PRACTICE_WORKFLOW_PREFIX = "practice-"
SESSION_REFUNDS_SUFFIX = ":refunds"


def session_workflow_id(session_id: str) -> str:
    """The one workflow id of a session; stable across continue-as-new and resets."""
    if not is_opaque_id(session_id):
        raise ValueError("session id must be 1-64 characters of [A-Za-z0-9_-]")
    return f"{SESSION_WORKFLOW_PREFIX}{session_id}"


def session_refunds_workflow_id(session_id: str) -> str:
    """The one refunds workflow of a session whose own workflow has closed. An opaque id never
    holds ``:``, so this id can never be another session's."""
    return f"{session_workflow_id(session_id)}{SESSION_REFUNDS_SUFFIX}"


def practice_workflow_id(therapist_id: str) -> str:
    """The one workflow id of a therapist's practice; stable across continue-as-new."""
    if not is_opaque_id(therapist_id):
        raise ValueError("therapist id must be 1-64 characters of [A-Za-z0-9_-]")
    return f"{PRACTICE_WORKFLOW_PREFIX}{therapist_id}"


def therapist_id_from_practice_workflow_id(workflow_id: str) -> str:
    if not workflow_id.startswith(PRACTICE_WORKFLOW_PREFIX):
        raise ValueError("not a practice workflow id")
    therapist_id = workflow_id.removeprefix(PRACTICE_WORKFLOW_PREFIX)
    if not is_opaque_id(therapist_id):
        raise ValueError("not a practice workflow id")
    return therapist_id


def session_id_from_workflow_id(workflow_id: str) -> str:
    if not workflow_id.startswith(SESSION_WORKFLOW_PREFIX):
        raise ValueError("not a session workflow id")
    session_id = workflow_id.removeprefix(SESSION_WORKFLOW_PREFIX)
    if not is_opaque_id(session_id):
        raise ValueError("not a session workflow id")
    return session_id


STRIPE_TASK_QUEUE_SUFFIX = "-stripe"


def stripe_task_queue(task_queue: str) -> str:
    """Where a workflow on ``task_queue`` sends its Stripe calls: a queue of their own, which the
    worker for ``task_queue`` also polls, under a server-side rate limit (``worker.py``). Derived
    rather than configured: workflow code cannot read settings, and a name carried in each
    session's input would pin year-long sessions to it."""
    return f"{task_queue}{STRIPE_TASK_QUEUE_SUFFIX}"
