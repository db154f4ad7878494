from enum import StrEnum


class RelationshipEventKind(StrEnum):
    ENDED = "ended"
    REGISTERED = "registered"
    RESTARTED = "restarted"

    def __str__(self) -> str:
        return str(self.value)
