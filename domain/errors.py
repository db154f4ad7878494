"""A refusal by a business rule, with a stable machine-readable code."""

from __future__ import annotations


class RuleViolation(ValueError):
    """Raised by a pure rule when a request must be refused.

    ``code`` is stable contract (the API maps it to a 409 body; the workflow uses it as the
    ``ApplicationError`` type); ``message`` is safe to show a person and carries no personal data.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
