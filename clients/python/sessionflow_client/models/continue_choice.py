from enum import StrEnum


class ContinueChoice(StrEnum):
    DIFFERENT_TIME = "different_time"
    NO = "no"
    SAME_TIME = "same_time"

    def __str__(self) -> str:
        return str(self.value)
