from enum import StrEnum


class CancelReason(StrEnum):
    ADMIN_CORRECTION = "admin_correction"
    CLIENT_REQUEST = "client_request"
    EMERGENCY = "emergency"
    ILLNESS = "illness"
    OTHER = "other"
    PAYMENT_ISSUE = "payment_issue"
    SCHEDULING_CONFLICT = "scheduling_conflict"
    THERAPIST_UNAVAILABLE = "therapist_unavailable"

    def __str__(self) -> str:
        return str(self.value)
