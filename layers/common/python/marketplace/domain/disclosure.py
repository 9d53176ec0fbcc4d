"""The public purchase page (GET /purchases/{id} for anyone; docs/disclosure.md): the announcement
and its progress (`PurchasePublic`, also what the public list shows) with what the purchase's other
records make public: the draw proof, every challenge and its answers (without the challenger), the
evaluations (without the rater's user), and links to the public routes with the rest (every quote,
every proposal score, the contract, the confirmation letter).

Kept out of domain/purchases.py: challenges import purchases, and the purchase's own routes need
none of this."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from marketplace.domain.challenges import Challenge
from marketplace.domain.challenges import public_view as public_challenge
from marketplace.domain.performance import Evaluation, EvaluationPublic, public_evaluation
from marketplace.domain.purchases import Purchase, PurchasePublic, SelectionMethod, public_view


class PurchasePage(PurchasePublic):
    links: dict[str, str] = Field(
        default_factory=dict,
        description="the public routes with more of this purchase: self, draw, quotes, rounds, scores, "
        "contract, evaluations, challenges, letter (only those that have something to show)",
    )
    draw: dict[str, Any] | None = Field(
        default=None,
        description="the draw's proof, as GET /purchases/{id}/draw returns it (hmac-sha256-rank/v1)",
    )
    challenges: list[Challenge] = Field(
        default_factory=list,
        description="every challenge (质疑), its answer, complaint and decision; not who challenged",
    )
    evaluations: list[EvaluationPublic] = Field(
        default_factory=list, description="the owner's and the regulator's ratings and comments"
    )


def page_links(purchase: Purchase, *, draw: bool, challenges: bool, evaluations: bool) -> dict[str, str]:
    base = f"/purchases/{purchase.purchase_id}"
    shown = {
        "self": True,
        "draw": draw or purchase.batch_of is not None,  # a batch's project: its announcement's draw
        "quotes": purchase.quotes_published,
        "rounds": purchase.bidding is not None,
        "scores": purchase.method == SelectionMethod.proposal_best_value and purchase.result is not None,
        "contract": purchase.contract is not None,
        "evaluations": evaluations,
        "challenges": challenges,
    }
    links = {name: base if name == "self" else f"{base}/{name}" for name, show in shown.items() if show}
    if purchase.letter_id:
        links["letter"] = f"/letters/{purchase.letter_id}"
    return links


def purchase_page(
    purchase: Purchase,
    *,
    challenges: list[Challenge],
    evaluations: list[Evaluation],
    draw: dict[str, Any] | None,
) -> PurchasePage:
    view = public_view(purchase)
    return PurchasePage.model_validate(
        {
            **view.model_dump(),
            "links": page_links(
                purchase, draw=draw is not None, challenges=bool(challenges), evaluations=bool(evaluations)
            ),
            "draw": draw,
            "challenges": [public_challenge(c) for c in challenges],
            "evaluations": [public_evaluation(e) for e in evaluations],
        }
    )
