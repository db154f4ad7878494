from enum import StrEnum


class BookingKind(StrEnum):
    CLIENT_FOLLOW_UP = "client_follow_up"
    INITIAL_PREPAID = "initial_prepaid"
    THERAPIST_FOLLOW_UP = "therapist_follow_up"
    THERAPIST_MANUAL = "therapist_manual"

    def __str__(self) -> str:
        return str(self.value)
