from enum import StrEnum


class DeclineKind(StrEnum):
    AUTHENTICATION_REQUIRED = "authentication_required"
    HARD = "hard"
    SOFT = "soft"

    def __str__(self) -> str:
        return str(self.value)
