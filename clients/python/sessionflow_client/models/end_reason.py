from enum import StrEnum


class EndReason(StrEnum):
    CLIENT_REQUEST = "client_request"
    NOT_A_FIT = "not_a_fit"
    NO_CONTACT = "no_contact"
    OTHER = "other"
    REFERRED_ELSEWHERE = "referred_elsewhere"
    TREATMENT_COMPLETE = "treatment_complete"

    def __str__(self) -> str:
        return str(self.value)
