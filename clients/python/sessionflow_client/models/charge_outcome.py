from enum import StrEnum


class ChargeOutcome(StrEnum):
    DECLINED = "declined"
    FAILED = "failed"
    HELD = "held"
    REQUIRES_ACTION = "requires_action"
    SUCCEEDED = "succeeded"

    def __str__(self) -> str:
        return str(self.value)
