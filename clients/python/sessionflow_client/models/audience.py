from enum import StrEnum


class Audience(StrEnum):
    BOTH = "both"
    CLIENT = "client"
    THERAPIST = "therapist"

    def __str__(self) -> str:
        return str(self.value)
