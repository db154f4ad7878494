from enum import StrEnum


class PaymentStatus(StrEnum):
    DECLINED_HARD = "declined_hard"
    DECLINED_SOFT = "declined_soft"
    NOT_COLLECTED = "not_collected"
    NOT_DUE = "not_due"
    ON_HOLD = "on_hold"
    PAID = "paid"
    PROCESSING = "processing"
    REQUIRES_ACTION = "requires_action"
    VOIDED = "voided"

    def __str__(self) -> str:
        return str(self.value)
