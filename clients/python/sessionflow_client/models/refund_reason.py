from enum import StrEnum


class RefundReason(StrEnum):
    BILLING_ERROR = "billing_error"
    CLIENT_NO_SHOW_WAIVED = "client_no_show_waived"
    GOODWILL = "goodwill"
    LATE_CANCELLATION_WAIVED = "late_cancellation_waived"
    OTHER = "other"
    SESSION_CUT_SHORT = "session_cut_short"
    TECHNICAL_PROBLEM = "technical_problem"
    THERAPIST_LATE = "therapist_late"

    def __str__(self) -> str:
        return str(self.value)
