from enum import StrEnum


class SessionStatus(StrEnum):
    ATTENDED = "attended"
    AWAITING_CLIENT_ACTION = "awaiting_client_action"
    AWAITING_UPDATE = "awaiting_update"
    CANCELLED_BY_THERAPIST = "cancelled_by_therapist"
    CANCELLED_FREE = "cancelled_free"
    CANCELLED_LATE = "cancelled_late"
    CANCELLED_UNPAID = "cancelled_unpaid"
    CLIENT_NO_SHOW = "client_no_show"
    COMPLETED = "completed"
    PAID = "paid"
    PAYMENT_DUE = "payment_due"
    PAYMENT_FAILED = "payment_failed"
    PAYMENT_ON_HOLD = "payment_on_hold"
    SCHEDULED = "scheduled"
    UNREPORTED = "unreported"

    def __str__(self) -> str:
        return str(self.value)
