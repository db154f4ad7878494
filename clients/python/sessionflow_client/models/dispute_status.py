from enum import StrEnum


class DisputeStatus(StrEnum):
    LOST = "lost"
    NEEDS_RESPONSE = "needs_response"
    UNDER_REVIEW = "under_review"
    WARNING_CLOSED = "warning_closed"
    WARNING_NEEDS_RESPONSE = "warning_needs_response"
    WARNING_UNDER_REVIEW = "warning_under_review"
    WON = "won"

    def __str__(self) -> str:
        return str(self.value)
