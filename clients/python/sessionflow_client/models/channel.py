from enum import StrEnum


class Channel(StrEnum):
    DASHBOARD_NOTE = "dashboard_note"
    EMAIL = "email"
    IN_APP = "in_app"

    def __str__(self) -> str:
        return str(self.value)
