"""Selection (选取, DOMAIN.md §5) once enrollment has closed: the random draw, the credit
best-value short list, and direct selection, each giving a `Result`.

Credit best-value ranks the eligible agencies by credit score (highest first; equal scores by
agency id, so the long list is reproducible from the published scores), keeps the first
`long_list`, and draws the short list among them with `hmac-sha256-rank/v1`: the proof's
`candidates` are the long list, and its `credit` block publishes every eligible agency's score.
"""

from __future__ import annotations

from typing import Any

from marketplace.domain import draw
from marketplace.domain.purchases import RESULT, Purchase, Result, SelectionMethod, result_state


def long_list(scores: dict[str, int], size: int) -> list[str]:
    ranked = sorted(scores, key=lambda agency: (-scores[agency], agency))
    return ranked[:size]


def select(
    purchase: Purchase,
    seed: bytes,
    eligible: list[str],
    *,
    scores: dict[str, int],
    reserves: int,
    drawn_at: str,
    confirmation_deadline: str,
) -> tuple[draw.DrawProof, Result]:
    """Run the purchase's method over the eligible agencies (at least the minimum)."""
    if purchase.method == SelectionMethod.credit_best_value:
        assert purchase.short_listing is not None  # the request model guarantees it
        kept = long_list({a: scores[a] for a in eligible}, purchase.short_listing.long_list)
        size = min(purchase.short_listing.short_list, len(kept))
        proof = draw.draw(purchase.purchase_id, seed, kept, winners=size, reserves=0, drawn_at=drawn_at)
        credit: dict[str, Any] = {
            "long_list_size": purchase.short_listing.long_list,
            "scores": [{"agency_id": a, "score": scores[a]} for a in sorted(eligible)],
            "long_list": kept,
            "order": "score descending, then agency_id ascending",
        }
        proof = draw.DrawProof(
            **{**proof.__dict__, "extra": {"method": purchase.method.value, "credit": credit}}
        )
        result = Result(
            method=purchase.method,
            short_list=proof.winners,
            selected_at=drawn_at,
            confirmation_deadline=confirmation_deadline,
        )
        return proof, result
    proof = draw.draw(purchase.purchase_id, seed, eligible, winners=1, reserves=reserves, drawn_at=drawn_at)
    proof = draw.DrawProof(**{**proof.__dict__, "extra": {"method": purchase.method.value}})
    result = Result(
        method=purchase.method,
        selected_agency=proof.winners[0],
        reserves=proof.reserves,
        selected_at=drawn_at,
        confirmation_deadline=confirmation_deadline,
    )
    return proof, result


def pick(result: Result, agency_id: str, confirmation_deadline: str) -> Result:
    """The owner's pick from the short list; the rest of the short list, in drawn order, are reserves."""
    if agency_id not in result.short_list:
        raise ValueError(f"{agency_id} is not on the short list")
    reserves = [a for a in result.short_list if a != agency_id]
    return RESULT.expect(result_state(result), "pick").apply(
        result, selected_agency=agency_id, reserves=reserves, confirmation_deadline=confirmation_deadline
    )


def direct_result(purchase: Purchase, selected_at: str, confirmation_deadline: str) -> Result:
    assert purchase.direct is not None  # the request model guarantees it
    return Result(
        method=SelectionMethod.direct,
        selected_agency=purchase.direct.agency_id,
        direct_reason=purchase.direct.reason,
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
