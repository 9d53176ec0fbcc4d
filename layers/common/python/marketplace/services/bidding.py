"""Price bidding (竞价选取, docs/bidding.md): sealed quotes, the rounds, and what is disclosed when.

A quote is sealed under the KMS sealing key before it is stored (repositories/sealing.py); only the
closing tasks (close_enrollment for round one, close_round for the others) may decrypt, so no route,
event or log line can carry a figure before its round closes: a submission returns the digest of
what was sealed, and its event names the agency and the round only.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from marketplace.auth import Principal
from marketplace.clock import stamp, utcnow
from marketplace.domain.bidding import (
    BiddingRound,
    BiddingTerms,
    RevealedQuote,
    RoundState,
    best_agencies,
    closed_round,
    last_prices,
    schedule,
)
from marketplace.domain.model import Model
from marketplace.domain.purchases import PURCHASE, EnrollmentStatus, Purchase, PurchaseStatus, SelectionMethod
from marketplace.domain.quotes import (
    QuoteReceipt,
    QuoteRequest,
    bounds_refusal,
    digest_of,
    form_refusal,
    opened,
    price_of,
    reveal,
    sealed_plaintext,
)
from marketplace.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed, invalid
from marketplace.events import DomainEvent, event
from marketplace.observability import log
from marketplace.repositories import bidding as repo
from marketplace.repositories import event_bus, sealing
from marketplace.repositories import purchases as purchases_repo
from marketplace.settings import get_settings

logger = logging.getLogger("marketplace.bidding")
SYSTEM = "system"


def _terms(purchase: Purchase) -> BiddingTerms:
    if purchase.method != SelectionMethod.price_bidding or purchase.bidding is None:
        raise NotFound(f"purchase {purchase.purchase_id} is not a price-bidding purchase")
    return purchase.bidding


def _context(purchase_id: str, agency_id: str, round_number: int) -> dict[str, str]:
    return {"purchase_id": purchase_id, "agency_id": agency_id, "round": str(round_number)}


def round_minutes(terms: BiddingTerms) -> int:
    return terms.round_minutes or get_settings().rules.bidding_round_minutes


# Submission.


def submit(
    purchase_id: str, quote: QuoteRequest, by: Principal, idempotency_key: str | None = None
) -> tuple[int, QuoteReceipt]:
    """Seal and store the caller agency's quote for the round open now (201), replacing its earlier
    quote of that round (200). Out of the published bounds: 422, nothing written."""
    agency_id = by.org_id
    if by.role != "agency" or not agency_id:
        raise Forbidden("only an agency quotes")
    now = stamp(utcnow())
    context = repo.quote_context(purchase_id, agency_id)
    purchase = context.purchase
    if purchase.published_at is None:
        raise NotFound(f"purchase {purchase_id} not found")
    if not PURCHASE.allows(purchase.status, "quote"):
        why = "suspended" if purchase.status == PurchaseStatus.suspended else "late"
        raise PURCHASE.refusal(purchase.status, "quote", subject=purchase_id, reason=why)
    terms = _terms(purchase)
    earlier = context.quotes
    round_number, closes_at = _open_round(purchase)
    if closes_at <= now:
        raise Conflict(f"round {round_number} is closed: its deadline {closes_at} has passed", reason="late")
    same = earlier.get(round_number)
    if idempotency_key and same is not None and same.idempotency_key == idempotency_key:
        return (200 if same.replaces else 201), _receipt(same)  # a retry: the quote it sealed stands
    if round_number == 1:
        if context.enrollment is None or context.enrollment.status != EnrollmentStatus.enrolled:
            raise Forbidden(
                f"agency {agency_id} is not enrolled in purchase {purchase_id}: enroll before quoting",
                reason="not_enrolled",
            )
    elif agency_id not in purchase.eligible_agencies:
        raise Forbidden(
            f"agency {agency_id} is not a candidate of purchase {purchase_id}: only agencies with a valid "
            "quote in round 1 quote in later rounds",
            reason="not_candidate",
        )
    _check(terms, purchase, quote, agency_id, round_number)
    nonce = secrets.token_hex(16)
    plaintext = sealed_plaintext(purchase_id, agency_id, round_number, quote, now, nonce)
    sealed = repo.SealedQuote(
        purchase_id=purchase_id,
        agency_id=agency_id,
        round=round_number,
        digest=digest_of(plaintext),
        submitted_at=now,
        sealed=sealing.seal(plaintext, _context(purchase_id, agency_id, round_number)),
        by=by.subject,
        idempotency_key=idempotency_key or None,
        replaces=same is not None,
    )
    data = {
        "purchase_id": purchase_id,
        "owner_id": purchase.owner_id,
        "agency_id": agency_id,
        "round": round_number,
        "digest": sealed.digest,
        "submitted_at": now,
        "replaces": sealed.replaces,
    }
    events = [event("QuoteSubmitted", subject=purchase_id, data=data, actor=by.subject)]
    repo.put(sealed, now, events)
    event_bus.flush(events)
    return (200 if sealed.replaces else 201), _receipt(sealed)


def _open_round(purchase: Purchase) -> tuple[int, str]:
    """The round open for quotes now, and when it closes."""
    if purchase.status == PurchaseStatus.enrollment_open:
        return 1, stamp(purchase.enrollment_deadline)
    current = purchase.current_round
    if current is None or current.closes_at is None or current.state != RoundState.open:
        raise Conflict(f"no round of purchase {purchase.purchase_id} is open", reason="late")
    return current.round, current.closes_at


def _check(
    terms: BiddingTerms, purchase: Purchase, quote: QuoteRequest, agency_id: str, round_number: int
) -> None:
    form = form_refusal(terms, quote)
    if form is not None:
        raise invalid(*form)
    price = price_of(terms, quote)
    field = "amount_yuan" if quote.amount_yuan is not None else "discount_rate"
    why = bounds_refusal(terms, purchase.amount_yuan, price)
    if why is not None:
        bound = "ceiling" if price > purchase.amount_yuan else "floor"
        raise ValidationFailed(
            f"{field}: {why}",
            errors=[_field_error(field, why)],
            reason="above_ceiling" if bound == "ceiling" else "abnormally_low",
            ceiling_yuan=str(purchase.amount_yuan),
            floor_yuan=None if terms.floor_yuan is None else str(terms.floor_yuan),
        )
    if round_number > 1:
        own = last_prices(purchase.quotes).get(agency_id)
        if own is not None and price >= own:
            why = f"a quote in round {round_number} must be lower than the agency's own price of {own} yuan"
            raise ValidationFailed(
                f"{field}: {why}",
                errors=[_field_error(field, why)],
                reason="not_lower",
                own_price_yuan=str(own),
            )


def _field_error(field: str, message: str) -> FieldError:
    return FieldError(field, message)


def _receipt(quote: repo.SealedQuote) -> QuoteReceipt:
    return QuoteReceipt(
        purchase_id=quote.purchase_id,
        agency_id=quote.agency_id,
        round=quote.round,
        digest=quote.digest,
        submitted_at=quote.submitted_at,
        replaces=quote.replaces,
    )


# Closing rounds (called by services.purchase_window: the closing tasks' roles alone may decrypt).


def _unsealed(
    purchase: Purchase, round_number: int, candidates: list[str]
) -> list[tuple[str, QuoteRequest, str, str, str]]:
    found = []
    for sealed in repo.round_quotes(purchase.purchase_id, round_number):
        if sealed.agency_id not in candidates:
            continue  # never opened: not a candidate (withdrawn, ineligible at closing)
        plaintext = sealing.unseal(
            sealed.sealed, _context(purchase.purchase_id, sealed.agency_id, round_number)
        )
        quote, submitted_at, nonce = opened(plaintext)
        found.append((sealed.agency_id, quote, submitted_at, sealed.digest, nonce))
    return found


def close_first_round(purchase: Purchase, eligible: list[str], now: datetime) -> tuple[dict[str, Any], str]:
    """At the enrollment deadline (CLOSERS[price_bidding]): open round one's quotes of the eligible
    agencies; those with a valid quote are the candidates. Then round two opens, or (one round) the
    purchase is closed for the selection; too few candidates fail it."""
    terms = _terms(purchase)
    revealed = reveal(terms, purchase.amount_yuan, 1, _unsealed(purchase, 1, eligible), eligible, [])
    candidates = sorted({q.agency_id for q in revealed if q.valid})
    first = BiddingRound(
        round=1,
        state=RoundState.open,
        opens_at=purchase.published_at,
        closes_at=stamp(purchase.enrollment_deadline),
    )
    rounds = [closed_round(first, revealed, stamp(now))]
    update: dict[str, Any] = {"quotes": revealed, "bidding_rounds": rounds, "eligible_agencies": candidates}
    minimum = get_settings().rules.min_eligible_enrollees
    if len(candidates) < minimum:
        update["failure_reason"] = (
            f"{len(candidates)} valid quote(s) from eligible agencies, fewer than the minimum of {minimum}"
        )
        return update, "close_failed"
    if terms.rounds == 1:
        return update, "close"
    rounds.append(_opening(2, terms, now))
    return update, "open_bidding"


def _opening(number: int, terms: BiddingTerms, now: datetime) -> BiddingRound:
    return BiddingRound(
        round=number,
        state=RoundState.open,
        opens_at=stamp(now),
        closes_at=stamp(now + timedelta(minutes=round_minutes(terms))),
    )


def close_open_round(purchase: Purchase, now: datetime) -> tuple[dict[str, Any], str]:
    """A further round's closing: open its quotes (of candidates, each lower than the agency's own
    price or invalid), record the best price, then open the next round or end the bidding."""
    terms = _terms(purchase)
    current = purchase.current_round
    assert current is not None  # the caller checked the state
    candidates = purchase.eligible_agencies
    revealed = reveal(
        terms,
        purchase.amount_yuan,
        current.round,
        _unsealed(purchase, current.round, candidates),
        candidates,
        purchase.quotes,
    )
    quotes = [*purchase.quotes, *revealed]
    rounds = [*purchase.bidding_rounds[:-1], closed_round(current, quotes, stamp(now))]
    update = {"quotes": quotes, "bidding_rounds": rounds}
    if current.round < terms.rounds:
        rounds.append(_opening(current.round + 1, terms, now))
        return update, "next_round"
    return update, "end_bidding"


def round_events(closed: Purchase) -> list[DomainEvent]:
    """What a saved closing announces: the round closed (and who was outbid), the next round
    opened, or every quote published after the last."""
    if closed.bidding is None or not closed.bidding_rounds or closed.status == PurchaseStatus.failed:
        return []
    done = [r for r in closed.bidding_rounds if r.state == RoundState.closed]
    last = done[-1]
    finished = closed.status != PurchaseStatus.bidding
    best = best_agencies(closed.quotes)
    base = {"purchase_id": closed.purchase_id, "owner_id": closed.owner_id}
    events = [
        event(
            "BiddingRoundClosed",
            subject=closed.purchase_id,
            data={
                **base,
                "round": last.round,
                "rounds": closed.bidding.rounds,
                "quotes": last.quotes or 0,
                "best_price_yuan": _text(last.best_price_yuan),
                "last": finished,
                "outbid": [] if finished else [a for a in closed.eligible_agencies if a not in best],
            },
            actor=SYSTEM,
        )
    ]
    if finished:
        data = {
            **base,
            "rounds": closed.bidding.rounds,
            "quotes": len(closed.quotes),
            "candidates": closed.eligible_agencies,
        }
        events.append(event("QuotesPublished", subject=closed.purchase_id, data=data, actor=SYSTEM))
    else:
        current = closed.bidding_rounds[-1]
        data = {
            **base,
            "round": current.round,
            "rounds": closed.bidding.rounds,
            "opens_at": current.opens_at,
            "closes_at": current.closes_at,
            "best_price_yuan": _text(last.best_price_yuan),
            "candidates": closed.eligible_agencies,
        }
        events.append(event("BiddingRoundOpened", subject=closed.purchase_id, data=data, actor=SYSTEM))
    log(logger, logging.INFO, "bidding round closed", purchase_id=closed.purchase_id, round=last.round)
    return events


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def final_prices(purchase: Purchase) -> dict[str, Any]:
    """FIGURES[price_bidding]: each candidate's final (lowest) valid price, for the selection."""
    prices = last_prices(purchase.quotes)
    return {"quotes": {a: prices[a] for a in purchase.eligible_agencies if a in prices}}


# Reading.


class RoundsView(Model):
    purchase_id: str
    status: PurchaseStatus
    terms: BiddingTerms
    ceiling_yuan: Decimal
    round_minutes: int
    rounds: list[BiddingRound]


def rounds(purchase_id: str) -> RoundsView:
    """Public: each round's times and state and, once closed, its count and the best price so far."""
    purchase = purchases_repo.get(purchase_id)
    if purchase.published_at is None:
        raise NotFound(f"purchase {purchase_id} not found")
    terms = _terms(purchase)
    return RoundsView(
        purchase_id=purchase_id,
        status=purchase.status,
        terms=terms,
        ceiling_yuan=purchase.amount_yuan,
        round_minutes=round_minutes(terms),
        rounds=schedule(
            terms.rounds, purchase.bidding_rounds, purchase.published_at, stamp(purchase.enrollment_deadline)
        ),
    )


def bidding_over(purchase: Purchase) -> bool:
    """Every round has closed (or the purchase failed at closing): the quotes are public."""
    return purchase.quotes_published


class Disclosure(Model):
    purchase_id: str
    published: bool
    quotes: list[RevealedQuote]
    receipts: list[QuoteReceipt]


def disclosure(purchase_id: str, viewer: Principal | None) -> Disclosure:
    """After the last round: every quote of every round, with its agency. Before: an agency sees
    its own receipts and its own opened quotes; anyone else is refused."""
    purchase = purchases_repo.get(purchase_id)
    if purchase.published_at is None:
        raise NotFound(f"purchase {purchase_id} not found")
    _terms(purchase)
    if bidding_over(purchase):
        return Disclosure(purchase_id=purchase_id, published=True, quotes=purchase.quotes, receipts=[])
    if viewer is None or viewer.role != "agency" or not viewer.org_id:
        raise Forbidden("the quotes are sealed until the last round closes; an agency sees its own receipts")
    agency_id = viewer.org_id
    own = [q for q in purchase.quotes if q.agency_id == agency_id]
    receipts = [_receipt(q) for q in repo.own_quotes(purchase_id, agency_id)]
    return Disclosure(purchase_id=purchase_id, published=False, quotes=own, receipts=receipts)
