"""Price bidding (竞价选取, docs/bidding.md): the quotes (报价) an agency submits, sealed and
opened, and judging a closed round's quotes. Only the bidding routes and their service load this
module; the purchase document holds the terms and the rounds (domain/bidding.py). Pure: the
services seal and unseal, the repositories store."""

from __future__ import annotations

import hashlib
import json
from decimal import ROUND_HALF_UP, Decimal

from pydantic import Field, model_validator

from marketplace.domain.bidding import BiddingTerms, QuoteForm, RevealedQuote, last_prices
from marketplace.domain.model import StrictModel

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
