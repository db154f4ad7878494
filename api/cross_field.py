"""The rules across a request's fields (and its ``Acting-Party``) that JSON Schema cannot state.

The OpenAPI states every constraint it can, so a body it accepts has the right shape: a rule that
still refuses it is a business rule, answered like every other one — ``409`` with a stable
``code`` (never the ``422`` of a malformed request, which a client generated from the OpenAPI could
never avoid). Each rule is documented on the field it concerns.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from domain.errors import RuleViolation

INVALID_COMBINATION = "invalid_combination"
"""The code of a cross-field rule that has no code of its own (a plain ``ValueError``)."""
CROSS_FIELD_CODES = frozenset(
    {
        "submitter_not_allowed",
        "submitter_not_acting_party",
        "new_start_required",
        "new_start_not_allowed",
        "end_reason_required",
        "contradictory_update",
    }
)
"""The pydantic error types the commands' cross-field rules raise: each is its own 409 code."""

Built = TypeVar("Built", bound=BaseModel)


def build(model: type[Built], **fields: Any) -> Built:
    """``model`` from fields whose shape the API has validated; a rule across them refusing it is
    ``RuleViolation`` (the API's ``409``), naming the rule and the field."""
    try:
        return model(**fields)
    except ValidationError as exc:
        raise refusal(exc) from None


def refusal(exc: ValidationError) -> RuleViolation:
    """The first error of ``exc`` as a rule's refusal: its own code, or ``invalid_combination``."""
    error = exc.errors(include_url=False)[0]
    code = error["type"] if error["type"] in CROSS_FIELD_CODES else INVALID_COMBINATION
    message = str(error["msg"]).removeprefix("Value error, ")
    where = ".".join(str(part) for part in error["loc"])
    return RuleViolation(code, f"{where}: {message}" if where else message)
