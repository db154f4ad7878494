from enum import StrEnum


class AttendanceOutcome(StrEnum):
    ATTENDED = "attended"
    CLIENT_NO_SHOW = "client_no_show"

    def __str__(self) -> str:
        return str(self.value)
