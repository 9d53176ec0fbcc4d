"""Price bidding (竞价选取, DOMAIN.md §5): the terms a purchase publishes for its quotes.

Round one is sealed and runs with the enrollment window; further rounds, each `round_minutes` long,
show the best price so far without its owner, and an agency may only lower its own quote. The
lowest valid quote wins; the verifiable draw breaks ties (`draw.draw(values=...)`).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import Field, model_validator

from marketplace.domain.model import StrictModel

MAX_ROUNDS = 5


class QuoteForm(StrEnum):
    amount = "amount"  # a price in yuan, at most the purchase's amount (its ceiling)
    discount_rate = "discount_rate"  # a percentage of the government price (下浮 from 100)


class BiddingTerms(StrictModel):
    """How agencies quote. The ceiling is the purchase's `amount_yuan`; `floor_yuan`, when set,
    marks an abnormally low price, refused with the reason."""

    quote_form: QuoteForm = QuoteForm.amount
    government_price_yuan: Decimal | None = Field(
        default=None,
        gt=0,
        max_digits=14,
        decimal_places=2,
        description="discount_rate only: the government price the rate applies to",
    )
    floor_yuan: Decimal | None = Field(
        default=None, gt=0, max_digits=14, decimal_places=2, description="an abnormally low price below this"
    )
    rounds: int = Field(default=1, ge=1, le=MAX_ROUNDS, description="round one sealed, then open rounds")
    round_minutes: int | None = Field(
        default=None, ge=1, le=120, description="each further round's length; the regional default if unset"
    )

    @model_validator(mode="after")
    def _form_fields(self) -> BiddingTerms:
        if (self.quote_form == QuoteForm.discount_rate) != (self.government_price_yuan is not None):
            raise ValueError("government_price_yuan is required for discount_rate quotes, and only for them")
        return self
