from enum import StrEnum


class Actor(StrEnum):
    ADMIN = "admin"
    CLIENT = "client"
    THERAPIST = "therapist"

    def __str__(self) -> str:
        return str(self.value)
