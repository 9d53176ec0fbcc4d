"""Selection (选取, DOMAIN.md §5) once enrollment has closed: each method is a `Strategy` that turns
the same `SelectionInput` into a draw proof and a `Result`; `select` dispatches on the purchase's
method through `STRATEGIES`, so a new method is a new strategy registered here, not a new branch in
the services.

Credit best-value ranks the eligible agencies by credit score (highest first; equal scores by
agency id, so the long list is reproducible from the published scores), keeps the first
`long_list`, and draws the short list among them with `hmac-sha256-rank/v1`: the proof's
`candidates` are the long list, and its `credit` block publishes every eligible agency's score.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from marketplace.domain import draw
from marketplace.domain.purchases import RESULT, Purchase, Result, SelectionMethod, result_state


@dataclass(frozen=True)
class SelectionInput:
    """What a strategy selects from: the purchase, the draw's seed, the eligible agencies fixed at
    closing, and the figures a method ranks by (only its own are filled)."""

    purchase: Purchase
    seed: bytes
    eligible: list[str]
    reserves: int
    drawn_at: str
    confirmation_deadline: str
    credit_scores: dict[str, int] = field(default_factory=dict)
    quotes: dict[str, Decimal] = field(default_factory=dict, repr=False)  # price bidding: final quotes
    proposal_scores: dict[str, Decimal] = field(default_factory=dict)  # proposals: weighted totals


class Strategy(Protocol):
    def select(self, given: SelectionInput) -> tuple[draw.DrawProof, Result]: ...


def _with_extra(proof: draw.DrawProof, **extra: Any) -> draw.DrawProof:
    return draw.DrawProof(**{**proof.__dict__, "extra": {**proof.extra, **extra}})


def long_list(scores: dict[str, int], size: int) -> list[str]:
    ranked = sorted(scores, key=lambda agency: (-scores[agency], agency))
    return ranked[:size]


class RandomDraw:
    """随机选取: one winner and the reserves, by the draw alone."""

    def select(self, given: SelectionInput) -> tuple[draw.DrawProof, Result]:
        purchase = given.purchase
        proof = draw.draw(
            purchase.purchase_id,
            given.seed,
            given.eligible,
            winners=1,
            reserves=given.reserves,
            drawn_at=given.drawn_at,
        )
        proof = _with_extra(proof, method=purchase.method.value)
        return proof, winner_result(purchase.method, proof, given)


class CreditBestValue:
    """信用择优: the best credit scores make the long list; the draw keeps the owner's short list."""

    def select(self, given: SelectionInput) -> tuple[draw.DrawProof, Result]:
        purchase = given.purchase
        assert purchase.short_listing is not None  # the request model guarantees it
        scores = given.credit_scores
        kept = long_list({a: scores[a] for a in given.eligible}, purchase.short_listing.long_list)
        size = min(purchase.short_listing.short_list, len(kept))
        proof = draw.draw(
            purchase.purchase_id, given.seed, kept, winners=size, reserves=0, drawn_at=given.drawn_at
        )
        credit: dict[str, Any] = {
            "long_list_size": purchase.short_listing.long_list,
            "scores": [{"agency_id": a, "score": scores[a]} for a in sorted(given.eligible)],
            "long_list": kept,
            "order": "score descending, then agency_id ascending",
        }
        proof = _with_extra(proof, method=purchase.method.value, credit=credit)
        result = Result(
            method=purchase.method,
            short_list=proof.winners,
            selected_at=given.drawn_at,
            confirmation_deadline=given.confirmation_deadline,
        )
        return proof, result


def ranked_by_value(
    given: SelectionInput, values: dict[str, Decimal], order: str, **extra: Any
) -> tuple[draw.DrawProof, Result]:
    """One winner by a published value in `order`, the next as reserves; the draw breaks ties
    between equal values (the proof publishes every value and lists the tied groups)."""
    purchase = given.purchase
    proof = draw.draw(
        purchase.purchase_id,
        given.seed,
        given.eligible,
        winners=1,
        reserves=given.reserves,
        drawn_at=given.drawn_at,
        values=values,
        values_order=order,
    )
    proof = _with_extra(proof, method=purchase.method.value, **extra, tied=draw.tied(values))
    return proof, winner_result(purchase.method, proof, given)


class PriceBidding:
    """竞价选取: the lowest final price wins, the next lowest are the reserves."""

    def select(self, given: SelectionInput) -> tuple[draw.DrawProof, Result]:
        terms = given.purchase.bidding
        assert terms is not None  # the request model guarantees it
        values = {a: given.quotes[a] for a in given.eligible}
        return ranked_by_value(
            given, values, "ascending", quote_form=terms.quote_form.value, rounds=terms.rounds
        )


def winner_result(method: SelectionMethod, proof: draw.DrawProof, given: SelectionInput) -> Result:
    """The result of a proof with one winner: it is selected, the reserves follow."""
    return Result(
        method=method,
        selected_agency=proof.winners[0],
        reserves=proof.reserves,
        selected_at=given.drawn_at,
        confirmation_deadline=given.confirmation_deadline,
    )


class ProposalBestValue:
    """方案择优: the highest weighted score wins (each candidate's panel mean, `proposal_scores`);
    the proof also lists the criteria."""

    def select(self, given: SelectionInput) -> tuple[draw.DrawProof, Result]:
        terms = given.purchase.proposal
        assert terms is not None  # the request model guarantees it
        values = {a: given.proposal_scores[a] for a in given.eligible}
        return ranked_by_value(
            given,
            values,
            "descending",
            criteria=[{"name": c.name, "weight": c.weight} for c in terms.criteria],
            value="each proposal's weighted total (0..100), the mean over the panel's seats",
        )


STRATEGIES: dict[SelectionMethod, Strategy] = {
    SelectionMethod.random_draw: RandomDraw(),
    SelectionMethod.credit_best_value: CreditBestValue(),
    SelectionMethod.proposal_best_value: ProposalBestValue(),
    SelectionMethod.price_bidding: PriceBidding(),
}


def select(given: SelectionInput) -> tuple[draw.DrawProof, Result]:
    """Run the purchase's method over the eligible agencies (at least the minimum)."""
    strategy = STRATEGIES.get(given.purchase.method)
    if strategy is None:
        raise ValueError(f"selection method {given.purchase.method} is not selected by a draw")
    return strategy.select(given)


def pick(result: Result, agency_id: str, confirmation_deadline: str) -> Result:
    """The owner's pick from the short list; the rest of the short list, in drawn order, are reserves."""
    if agency_id not in result.short_list:
        raise ValueError(f"{agency_id} is not on the short list")
    reserves = [a for a in result.short_list if a != agency_id]
    return RESULT.expect(result_state(result), "pick").apply(
        result, selected_agency=agency_id, reserves=reserves, confirmation_deadline=confirmation_deadline
    )


def direct_result(purchase: Purchase, selected_at: str, confirmation_deadline: str) -> Result:
    """The owner's named choice as the result: a direct selection, or a reward purchase (守信激励)."""
    choice = purchase.reward if purchase.method == SelectionMethod.reward else purchase.direct
    assert choice is not None  # the request model guarantees it
    return Result(
        method=purchase.method,
        selected_agency=choice.agency_id,
        direct_reason=choice.reason,
        selected_at=selected_at,
        confirmation_deadline=confirmation_deadline,
    )


def move_up(
    result: Result,
    abandoned_by: str,
    reason: str,
    at: str,
    confirmation_deadline: str,
    refused: dict[str, str] | None = None,
) -> Result:
    """The selected agency abandons: the first reserve that may still take part moves up, with a
    fresh confirmation window; reserves `refused` before it are passed over, with why."""
    from marketplace.domain.purchases import Abandonment, PassedOver

    refused = refused or {}
    position = next((i for i, r in enumerate(result.reserves) if r not in refused), len(result.reserves))
    skipped = [PassedOver(agency_id=r, reason=refused[r], at=at) for r in result.reserves[:position]]
    next_agency = result.reserves[position] if position < len(result.reserves) else None
    action = "abandon" if next_agency is not None else "abandon_last"
    return RESULT.expect(result_state(result), action).apply(
        result,
        selected_agency=next_agency,
        reserves=result.reserves[position + 1 :],
        passed_over=[*result.passed_over, *skipped],
        abandoned=[*result.abandoned, Abandonment(agency_id=abandoned_by, reason=reason, at=at)],
        owner_confirmed_at=None,
        agency_accepted_at=None,
        confirmation_deadline=confirmation_deadline,
        escalated_at=None,  # the new agency's window is watched (and escalated) on its own
    )
