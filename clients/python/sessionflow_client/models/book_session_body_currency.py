from enum import StrEnum


class BookSessionBodyCurrency(StrEnum):
    AUD = "aud"
    CAD = "cad"
    CHF = "chf"
    CZK = "czk"
    DKK = "dkk"
    EUR = "eur"
    GBP = "gbp"
    NOK = "nok"
    NZD = "nzd"
    PLN = "pln"
    SEK = "sek"
    USD = "usd"

    def __str__(self) -> str:
        return str(self.value)
