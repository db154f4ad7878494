from enum import StrEnum


class NotificationType(StrEnum):
    ACTION_REQUIRED = "action_required"
    ATTENDANCE_UPDATE_DUE = "attendance_update_due"
    AUTO_CANCELLED = "auto_cancelled"
    BOOKING_CONFIRMED = "booking_confirmed"
    CHARGE_FAILED = "charge_failed"
    CHARGE_SUCCEEDED = "charge_succeeded"
    DISPUTE_CLOSED = "dispute_closed"
    DISPUTE_OPENED = "dispute_opened"
    FOLLOW_UP_BOOKED = "follow_up_booked"
    PAYMENTS_PAUSED = "payments_paused"
    PAYMENT_ON_HOLD = "payment_on_hold"
    PAYMENT_PENDING = "payment_pending"
    PAYMENT_RECOVERED = "payment_recovered"
    PAYMENT_REMINDER = "payment_reminder"
    REFUND_ISSUED = "refund_issued"
    RELATIONSHIP_ENDED = "relationship_ended"
    SESSION_CANCELLED = "session_cancelled"
    SESSION_RESCHEDULED = "session_rescheduled"
    SESSION_UNREPORTED = "session_unreported"
    SLOT_RELEASED = "slot_released"
    SLOT_RESERVED = "slot_reserved"

    def __str__(self) -> str:
        return str(self.value)
