"""Price bidding (竞价选取, DOMAIN.md §5): the terms a purchase publishes for its quotes, and its
rounds as the purchase document holds them (the quotes themselves: domain/quotes.py).

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


# Rounds and the quotes they open. Pure: the services seal and unseal, the repositories store.
# What an agency submits, and sealing it: domain/quotes.py (only the bidding routes load it).


class RevealedQuote(StrictModel):
    """A quote opened when its round closed."""

    agency_id: str
    round: int
    price_yuan: Decimal
    discount_rate: Decimal | None = None
    submitted_at: str
    digest: str
    nonce: str = Field(description="published with the quote: anyone recomputes its digest")
    valid: bool = True
    invalid_reason: str | None = None


class RoundState(StrEnum):
    scheduled = "scheduled"  # a later round, opened when the one before it closes
    open = "open"
    closed = "closed"


class BiddingRound(StrictModel):
    """One round as the public sees it: never whose the best price is before the last round closed."""

    round: int
    state: RoundState
    opens_at: str | None = None
    closes_at: str | None = None
    quotes: int | None = Field(default=None, description="the valid quotes counted, once closed")
    best_price_yuan: Decimal | None = Field(default=None, description="the lowest price so far, once closed")


def last_prices(quotes: list[RevealedQuote]) -> dict[str, Decimal]:
    """Each agency's standing price: its valid quote of the latest round it quoted in."""
    standing: dict[str, tuple[int, Decimal]] = {}
    for q in quotes:
        if q.valid and (q.agency_id not in standing or q.round > standing[q.agency_id][0]):
            standing[q.agency_id] = (q.round, q.price_yuan)
    return {agency: price for agency, (_, price) in standing.items()}


def closed_round(record: BiddingRound, quotes: list[RevealedQuote], closed_at: str) -> BiddingRound:
    """The round's public record once closed: how many valid quotes it counted and the best price
    standing after it (every agency's own latest valid price), without its owner."""
    counted = [q for q in quotes if q.round == record.round and q.valid]
    standing = last_prices(quotes)
    return BiddingRound(
        round=record.round,
        state=RoundState.closed,
        opens_at=record.opens_at,
        closes_at=closed_at if record.closes_at is None else record.closes_at,
        quotes=len(counted),
        best_price_yuan=min(standing.values()) if standing else None,
    )


def best_agencies(quotes: list[RevealedQuote]) -> list[str]:
    standing = last_prices(quotes)
    if not standing:
        return []
    best = min(standing.values())
    return sorted(a for a, p in standing.items() if p == best)


def schedule(
    rounds: int, records: list[BiddingRound], enrollment_opens: str | None, deadline: str
) -> list[BiddingRound]:
    """Every round as the public sees it now: round one runs with the enrollment window; the others
    are scheduled until the one before them closes."""
    known = {r.round: r for r in records}
    view = []
    for number in range(1, rounds + 1):
        if number in known:
            view.append(known[number])
        elif number == 1:
            view.append(
                BiddingRound(round=1, state=RoundState.open, opens_at=enrollment_opens, closes_at=deadline)
            )
        else:
            view.append(BiddingRound(round=number, state=RoundState.scheduled))
    return view
