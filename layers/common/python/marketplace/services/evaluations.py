"""Evaluation (服务评价, DOMAIN.md §8): after completion the owner rates the service on five
dimensions, once, which moves the purchase to `evaluated`; the item's regulator rates the output's
quality, once, when the purchase is completed or evaluated. A rating below the credit rules' mark
needs a written reason. Each evaluation records its credit event in the same transaction, and both
are public with the purchase, without the rater's personal data.
"""

from __future__ import annotations

from marketplace.auth import Principal
from marketplace.clock import stamp, utcnow
from marketplace.domain.credit import CreditCause, CreditEventKind
from marketplace.domain.model import revised
from marketplace.domain.performance import (
    OWNER_DIMENSIONS,
    REGULATOR_DIMENSIONS,
    Evaluation,
    EvaluationRequest,
    PerformanceSummary,
    PurchaseEvaluations,
    Rater,
    average,
    public_evaluation,
)
from marketplace.domain.purchases import PUBLIC_STATUSES, PURCHASE, Purchase
from marketplace.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from marketplace.events import event
from marketplace.repositories import event_bus
from marketplace.repositories import performance as repo
from marketplace.repositories import purchases as purchases_repo
from marketplace.services import credit
from marketplace.services.delivery import contracted_agency
from marketplace.services.purchase_access import require_owner, require_published
from marketplace.services.retries import with_retries

KINDS = {"owner": CreditEventKind.owner_evaluation, "regulator": CreditEventKind.regulator_evaluation}
ACTIONS = {"owner": "evaluate", "regulator": "rate_output"}


def _ratings(body: EvaluationRequest, rater: Rater) -> dict[str, int]:
    """The rater's ratings: every dimension of its role, none of the other's (422 naming each)."""
    mine = OWNER_DIMENSIONS if rater == "owner" else REGULATOR_DIMENSIONS
    theirs = REGULATOR_DIMENSIONS if rater == "owner" else OWNER_DIMENSIONS
    given = body.model_dump()
    errors = [FieldError(d, f"required: the {rater} rates it from 1 to 5") for d in mine if given[d] is None]
    errors += [FieldError(d, f"not rated by the {rater}") for d in theirs if given[d] is not None]
    if errors:
        raise ValidationFailed("; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)
    return {d: int(given[d]) for d in mine}


def _reason_for_low_ratings(ratings: dict[str, int], comment: str, mark: int) -> None:
    low = [d for d, value in ratings.items() if value < mark]
    if low and not comment.strip():
        message = f"a rating below {mark} ({', '.join(low)}) needs a written reason in the comment"
        raise ValidationFailed(f"comment: {message}", errors=[FieldError("comment", message)])


def _rater(purchase: Purchase, by: Principal) -> Rater:
    """Who rates: this purchase's owner, or a regulator of the item's industry."""
    if by.role == "owner":
        require_owner(
            purchase, by, refusal=f"only the owner of purchase {purchase.purchase_id} rates its service"
        )
        return "owner"
    require_published(purchase)
    return "regulator"


def _regulates(purchase: Purchase, by: Principal) -> None:
    from marketplace.repositories import catalogue as catalogue_repo

    industry = catalogue_repo.latest(purchase.item_code).industry
    if industry not in by.industries:
        raise Forbidden(
            f"item {purchase.item_code} belongs to industry {industry}: only its regulators rate the output"
        )


def evaluate(purchase_id: str, body: EvaluationRequest, by: Principal) -> Evaluation:
    """Record the caller's evaluation, once."""
    rules = credit.rules_in_force(utcnow())

    def attempt() -> Evaluation:
        purchase = purchases_repo.get(purchase_id, consistent=True)
        rater = _rater(purchase, by)
        step = PURCHASE.expect(purchase.status, ACTIONS[rater], subject=purchase_id)
        if rater == "regulator":
            _regulates(purchase, by)
        ratings = _ratings(body, rater)
        _reason_for_low_ratings(ratings, body.comment, rules.low_rating_mark)
        summary = purchase.performance or PerformanceSummary()
        rated = summary.owner_rating if rater == "owner" else summary.regulator_rating
        if rated is not None:
            raise Conflict(f"the {rater} has already rated purchase {purchase_id}", reason="already_rated")
        now_at = utcnow()
        now = stamp(now_at)
        agency_id = contracted_agency(purchase)
        mean = average(ratings)
        evaluation = Evaluation(
            purchase_id=purchase_id,
            agency_id=agency_id,
            owner_id=purchase.owner_id,
            rater=rater,
            ratings=ratings,
            average=mean,
            comment=body.comment,
            rated_at=now,
            rated_by=by.subject,
            rater_org=by.org_id,
        )
        credit_event = credit.platform_event(
            KINDS[rater],
            agency_id,
            event_id=f"{purchase_id}-{rater}-evaluation",
            cause=CreditCause(type="evaluation", id=f"{purchase_id}/{rater}", purchase_id=purchase_id),
            reason=(
                "业主评价: the owner's evaluation" if rater == "owner" else "监管评价: the regulator's rating"
            )
            + f", {mean:g} of 5",
            basis=f"purchase {purchase_id}: {', '.join(f'{d} {v}' for d, v in ratings.items())}",
            occurred_at=now_at,
            rating=mean,
            ratings=ratings,
        )
        events = [
            event(
                "EvaluationRecorded",
                subject=purchase_id,
                data={
                    "purchase_id": purchase_id,
                    "owner_id": purchase.owner_id,
                    "agency_id": agency_id,
                    "rater": rater,
                    "ratings": ratings,
                    "average": mean,
                },
                actor=by.subject,
            ),
            credit.recorded(credit_event, actor=by.subject),
        ]
        rating = (
            {"owner_rating": mean} if rater == "owner" else {"regulator_rating": ratings["output_quality"]}
        )
        changed = step.apply(purchase, performance=revised(summary, **rating), updated_at=now)
        repo.save_evaluation(changed, evaluation, events, transition=step, credit_event=credit_event)
        event_bus.flush(events)
        return evaluation

    return with_retries(attempt)


def public(purchase_id: str) -> PurchaseEvaluations:
    """Both evaluations of a published purchase, as anyone reads them."""
    purchase = purchases_repo.get(purchase_id)
    if purchase.published_at is None or purchase.status not in PUBLIC_STATUSES:
        raise NotFound(f"purchase {purchase_id} not found")
    found = sorted(repo.evaluations(purchase_id), key=lambda e: e.rater)
    agency = purchase.result.selected_agency if purchase.result else None
    return PurchaseEvaluations(
        purchase_id=purchase_id, agency_id=agency, evaluations=[public_evaluation(e) for e in found]
    )
