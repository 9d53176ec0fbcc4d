"""Price bidding's pure rules (domain/bidding.py): the terms, a quote's price and bounds, the sealed
plaintext and its digest, the opening of a round and the standing prices, the selection."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from pydantic import ValidationError

from marketplace.domain import draw
from marketplace.domain.bidding import (
    BiddingRound,
    BiddingTerms,
    QuoteForm,
    RevealedQuote,
    RoundState,
    best_agencies,
    closed_round,
    last_prices,
    schedule,
)
from marketplace.domain.quotes import (
    QuoteRequest,
    bounds_refusal,
    digest_of,
    form_refusal,
    opened,
    price_of,
    reveal,
    sealed_plaintext,
)

AMOUNT = BiddingTerms(floor_yuan=Decimal("90000.00"), rounds=2)
RATE = BiddingTerms(quote_form=QuoteForm.discount_rate, government_price_yuan=Decimal("200000.00"))
CEILING = Decimal("180000.00")


def amount(text: str) -> QuoteRequest:
    return QuoteRequest(amount_yuan=Decimal(text))


def rate(text: str) -> QuoteRequest:
    return QuoteRequest(discount_rate=Decimal(text))


def test_terms_need_the_government_price_for_discount_rates_and_only_then() -> None:
    with pytest.raises(ValidationError):
        BiddingTerms(quote_form=QuoteForm.discount_rate)
    with pytest.raises(ValidationError):
        BiddingTerms(government_price_yuan=Decimal("100.00"))
    with pytest.raises(ValidationError):
        BiddingTerms(rounds=6)
    assert BiddingTerms().rounds == 1 and BiddingTerms().quote_form == QuoteForm.amount


def test_a_quote_gives_exactly_one_figure_with_cents_at_most() -> None:
    for body in ({}, {"amount_yuan": "1.00", "discount_rate": "90.00"}, {"amount_yuan": "1.001"}):
        with pytest.raises(ValidationError):
            QuoteRequest.model_validate(body)
    with pytest.raises(ValidationError):
        rate("100.01")  # more than the government price
    assert rate("100.00").discount_rate == Decimal("100.00")


def test_a_discount_rate_is_priced_on_the_government_price_to_the_cent() -> None:
    assert price_of(RATE, rate("92.50")) == Decimal("185000.00")
    assert price_of(RATE, rate("75.55")) == Decimal("151100.00")
    odd = BiddingTerms(quote_form=QuoteForm.discount_rate, government_price_yuan=Decimal("333.33"))
    assert price_of(odd, rate("33.33")) == Decimal("111.10")  # 111.099889 rounds half up
    assert price_of(AMOUNT, amount("123.45")) == Decimal("123.45")


def test_the_wrong_form_and_the_bounds_are_refused_with_the_figure_named() -> None:
    assert form_refusal(AMOUNT, rate("90.00")) == (
        "amount_yuan",
        "this purchase takes quotes as an amount in yuan",
    )
    assert form_refusal(RATE, amount("1.00"))[0] == "discount_rate"  # type: ignore[index]
    assert form_refusal(AMOUNT, amount("1.00")) is None
    assert "above the ceiling of 180000.00" in str(bounds_refusal(AMOUNT, CEILING, Decimal("180000.01")))
    low = str(bounds_refusal(AMOUNT, CEILING, Decimal("89999.99")))
    assert "abnormally low" in low and "90000.00" in low
    assert bounds_refusal(AMOUNT, CEILING, CEILING) is None
    assert bounds_refusal(AMOUNT, CEILING, Decimal("90000.00")) is None
    assert bounds_refusal(BiddingTerms(), CEILING, Decimal("0.01")) is None  # no floor


def test_the_sealed_plaintext_is_canonical_and_its_digest_recomputable() -> None:
    one = sealed_plaintext("P-1", "AG-1", 1, amount("150000.00"), "2026-12-04T08:00:00Z", "ab" * 16)
    assert one == sealed_plaintext("P-1", "AG-1", 1, amount("150000.00"), "2026-12-04T08:00:00Z", "ab" * 16)
    assert b" " not in one and one.index(b'"agency_id"') < one.index(b'"amount_yuan"')
    assert digest_of(one) == hashlib.sha256(one).hexdigest()
    other_nonce = sealed_plaintext("P-1", "AG-1", 1, amount("150000.00"), "2026-12-04T08:00:00Z", "cd" * 16)
    assert digest_of(other_nonce) != digest_of(one)  # the nonce keeps a digest from being guessed
    quote, at, nonce = opened(one)
    assert (quote, at, nonce) == (amount("150000.00"), "2026-12-04T08:00:00Z", "ab" * 16)
    with pytest.raises(ValueError):
        opened(b'{"format": "other"}')


def _opened(agency: str, quote: QuoteRequest) -> tuple[str, QuoteRequest, str, str, str]:
    return agency, quote, "2026-12-04T08:00:00Z", "d" * 64, "n" * 32


def test_opening_a_round_judges_each_candidates_quote_and_ignores_the_others() -> None:
    first = reveal(
        AMOUNT,
        CEILING,
        1,
        [
            _opened("AG-1", amount("150000.00")),
            _opened("AG-2", amount("140000.00")),
            _opened("AG-9", amount("100000.00")),  # withdrew, or ineligible at closing: never opened
            _opened("AG-3", rate("90.00")),  # the wrong form: invalid, with the reason
        ],
        ["AG-1", "AG-2", "AG-3"],
        [],
    )
    assert [(q.agency_id, q.valid) for q in first] == [("AG-1", True), ("AG-2", True), ("AG-3", False)]
    assert last_prices(first) == {"AG-1": Decimal("150000.00"), "AG-2": Decimal("140000.00")}
    second = reveal(
        AMOUNT,
        CEILING,
        2,
        [_opened("AG-1", amount("130000.00")), _opened("AG-2", amount("140000.00"))],
        ["AG-1", "AG-2"],
        first,
    )
    assert [(q.agency_id, q.valid) for q in second] == [("AG-1", True), ("AG-2", False)]
    assert "not lower than the agency's own price of 140000.00" in str(second[1].invalid_reason)
    both = [*first, *second]
    assert last_prices(both) == {"AG-1": Decimal("130000.00"), "AG-2": Decimal("140000.00")}
    assert best_agencies(both) == ["AG-1"]
    record = closed_round(BiddingRound(round=2, state=RoundState.open, closes_at="x"), both, "y")
    assert (record.state, record.quotes, record.best_price_yuan) == (
        RoundState.closed,
        1,
        Decimal("130000.00"),
    )


def test_equal_best_prices_are_all_best() -> None:
    quotes = [
        RevealedQuote(agency_id=a, round=1, price_yuan=Decimal(p), submitted_at="t", digest="d", nonce="n")
        for a, p in (("AG-1", "10.00"), ("AG-2", "10.00"), ("AG-3", "11.00"))
    ]
    assert best_agencies(quotes) == ["AG-1", "AG-2"]
    assert draw.tied(last_prices(quotes)) == [["AG-1", "AG-2"]]


def test_the_schedule_shows_round_one_with_enrollment_and_later_rounds_scheduled() -> None:
    view = schedule(3, [], "2026-12-01T02:00:00Z", "2026-12-04T09:00:00Z")
    assert [(r.round, r.state) for r in view] == [
        (1, RoundState.open),
        (2, RoundState.scheduled),
        (3, RoundState.scheduled),
    ]
    assert view[0].closes_at == "2026-12-04T09:00:00Z" and view[1].closes_at is None
