"""Price bidding (竞价选取, DOMAIN.md §5): the terms a purchase publishes for its quotes.

Round one is sealed and runs with the enrollment window; further rounds, each `round_minutes` long,
show the best price so far without its owner, and an agency may only lower its own quote. The
lowest valid quote wins; the verifiable draw breaks ties (`draw.draw(values=...)`).
"""

from __future__ import annotations

import hashlib
import json
from decimal import ROUND_HALF_UP, Decimal
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


# Quotes (报价) and rounds. Pure: the services seal and unseal, the repositories store.

CENT = Decimal("0.01")
SEALED_FORMAT = "quote/v1"


class QuoteRequest(StrictModel):
    """What an agency submits: an amount in yuan, or a discount rate, as the purchase's quote form says."""

    amount_yuan: Decimal | None = Field(default=None, gt=0, max_digits=14, decimal_places=2)
    discount_rate: Decimal | None = Field(
        default=None,
        gt=0,
        le=100,
        max_digits=5,
        decimal_places=2,
        description="discount_rate quotes: the percentage of the government price paid (92.50: 92.5%)",
    )

    @model_validator(mode="after")
    def _one_figure(self) -> QuoteRequest:
        if (self.amount_yuan is None) == (self.discount_rate is None):
            raise ValueError("give exactly one of amount_yuan and discount_rate")
        return self


class QuoteReceipt(StrictModel):
    """What the agency gets back for a sealed quote: no figure, only the digest of what was sealed."""

    purchase_id: str
    agency_id: str
    round: int
    digest: str = Field(
        description="hex SHA-256 of the sealed plaintext (canonical JSON, with a random nonce)"
    )
    submitted_at: str
    replaces: bool = Field(default=False, description="an earlier quote of this round was replaced")


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


def price_of(terms: BiddingTerms, quote: QuoteRequest) -> Decimal:
    """The price a quote stands for: its amount, or the government price times its rate, to the cent."""
    if terms.quote_form == QuoteForm.amount:
        assert quote.amount_yuan is not None  # form_refusal checked it
        return quote.amount_yuan
    assert quote.discount_rate is not None and terms.government_price_yuan is not None
    return (terms.government_price_yuan * quote.discount_rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def form_refusal(terms: BiddingTerms, quote: QuoteRequest) -> tuple[str, str] | None:
    """(field, why) when the quote is not in the purchase's form."""
    if terms.quote_form == QuoteForm.amount and quote.amount_yuan is None:
        return "amount_yuan", "this purchase takes quotes as an amount in yuan"
    if terms.quote_form == QuoteForm.discount_rate and quote.discount_rate is None:
        return "discount_rate", "this purchase takes quotes as a discount rate on the government price"
    return None


def bounds_refusal(terms: BiddingTerms, ceiling: Decimal, price: Decimal) -> str | None:
    """Why a price is out of the published bounds (above the ceiling, abnormally low), if it is."""
    if price > ceiling:
        return f"the price {price} yuan is above the ceiling of {ceiling} yuan"
    if terms.floor_yuan is not None and price < terms.floor_yuan:
        return f"the price {price} yuan is abnormally low: below the floor of {terms.floor_yuan} yuan"
    return None


def sealed_plaintext(
    purchase_id: str, agency_id: str, round_number: int, quote: QuoteRequest, submitted_at: str, nonce: str
) -> bytes:
    """The canonical plaintext that is sealed (and whose SHA-256 is the receipt's digest): sorted keys,
    no spaces, decimals as strings. The random nonce keeps the digest from being guessed by trying
    every price."""
    document = {
        "format": SEALED_FORMAT,
        "purchase_id": purchase_id,
        "agency_id": agency_id,
        "round": round_number,
        "amount_yuan": None if quote.amount_yuan is None else str(quote.amount_yuan),
        "discount_rate": None if quote.discount_rate is None else str(quote.discount_rate),
        "submitted_at": submitted_at,
        "nonce": nonce,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest_of(plaintext: bytes) -> str:
    return hashlib.sha256(plaintext).hexdigest()


def opened(plaintext: bytes) -> tuple[QuoteRequest, str, str]:
    """The quote, its submission instant and nonce from a sealed plaintext."""
    document = json.loads(plaintext)
    if document.get("format") != SEALED_FORMAT:
        raise ValueError(f"not a {SEALED_FORMAT} plaintext")
    quote = QuoteRequest(
        amount_yuan=None if document["amount_yuan"] is None else Decimal(document["amount_yuan"]),
        discount_rate=None if document["discount_rate"] is None else Decimal(document["discount_rate"]),
    )
    return quote, str(document["submitted_at"]), str(document["nonce"])


def last_prices(quotes: list[RevealedQuote]) -> dict[str, Decimal]:
    """Each agency's standing price: its valid quote of the latest round it quoted in."""
    standing: dict[str, tuple[int, Decimal]] = {}
    for q in quotes:
        if q.valid and (q.agency_id not in standing or q.round > standing[q.agency_id][0]):
            standing[q.agency_id] = (q.round, q.price_yuan)
    return {agency: price for agency, (_, price) in standing.items()}


def reveal(
    terms: BiddingTerms,
    ceiling: Decimal,
    round_number: int,
    opened_quotes: list[tuple[str, QuoteRequest, str, str, str]],
    candidates: list[str],
    earlier: list[RevealedQuote],
) -> list[RevealedQuote]:
    """The quotes of a closed round, judged: (agency, quote, submitted_at, digest, nonce) each. A quote
    from an agency that is not a candidate is not revealed at all; one out of bounds, in the wrong
    form, or (after round one) not below the agency's own standing price is revealed as invalid."""
    standing = last_prices(earlier)
    revealed = []
    for agency, quote, submitted_at, digest, nonce in sorted(opened_quotes):
        if agency not in candidates:
            continue
        form = form_refusal(terms, quote)
        price = price_of(terms, quote) if form is None else Decimal(0)
        why = form[1] if form is not None else bounds_refusal(terms, ceiling, price)
        if why is None and round_number > 1 and agency in standing and price >= standing[agency]:
            why = f"not lower than the agency's own price of {standing[agency]} yuan"
        revealed.append(
            RevealedQuote(
                agency_id=agency,
                round=round_number,
                price_yuan=price,
                discount_rate=quote.discount_rate,
                submitted_at=submitted_at,
                digest=digest,
                nonce=nonce,
                valid=why is None,
                invalid_reason=why,
            )
        )
    return revealed


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
