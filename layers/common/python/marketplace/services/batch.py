"""Batch mode (批量, domain/batch.py, docs/batch.md): the selection of a batch announcement. One draw
ranks the eligible agencies for the whole batch (one proof); the assignment rule gives each project
its agency and reserves; each project becomes a purchase of its own, `selected` with its own result
and confirmation deadline, so confirmation, acceptance, abandonment (its own reserves move up), the
letter, the contract and the delivery work on it as on any purchase. The announcement, its proof and
every project's purchase are written in one transaction, conditioned on the announcement still
being closed and on no project's purchase existing: triggers racing make the projects once.

Consortium mode: each project keeps the batch's consortia (every eligible lead's, as closing judged
them), so a consortium that wins a project is named with its members in that project's letter, its
members are told (ConsortiumSelected, per project), and a reserve moving up or an annulment judges a
consortium with its members as in any purchase.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marketplace.clock import stamp
from marketplace.domain import draw
from marketplace.domain.batch import BatchAward, BatchProjectResult, BatchSplit, assign, child_id
from marketplace.domain.purchases import PURCHASE, Purchase, PurchaseStatus, Result
from marketplace.errors import Conflict, ServiceUnavailable
from marketplace.events import DomainEvent, event
from marketplace.repositories import event_bus
from marketplace.repositories import purchases as repo
from marketplace.services.consortium import selected_events
from marketplace.services.outcomes import confirmation_due, result_event
from marketplace.services.purchase_window import StepBusy
from marketplace.settings import get_settings

SYSTEM = "system"
# What a project's purchase keeps of its announcement: the item, the terms, the window and who was
# eligible (with the consortia among them: a candidate of the batch may move up in any project). Its
# code, title, place and amount are its own.
INHERITED = {
    "owner_id",
    "item_code",
    "item_name",
    "item_version",
    "item_qualification",
    "funding_type",
    "price_kind",
    "method",
    "consortium",
    "consortia",
    "enrollment_deadline",
    "selection_time",
    "extra_qualification",
    "exclusions",
    "witnesses",
    "reserves",
    "description",
    "submitted_at",
    "review",
    "published_at",
    "window_counts_weekends_only",
    "commitment",
    "enrollments",
    "eligible",
    "eligible_agencies",
    "closed_at",
}


def run_selection(purchase: Purchase, now: datetime) -> Purchase:
    """Draw once for the batch and split it into one purchase per project (the caller checked that
    the announcement is closed and its selection time has come)."""
    terms = purchase.batch
    assert terms is not None  # the caller's branch
    purchase_id = purchase.purchase_id
    drawn_at = stamp(now)
    reserves = purchase.reserves if purchase.reserves is not None else get_settings().rules.reserves
    eligible = purchase.eligible_agencies
    projects = len(terms.projects)
    # The number of winners the rule takes from the ranking: the draw publishes them and every
    # reserve after them (each project its own slice: up to `reserves` per project), so
    # draw.verify checks the head of the assignment too.
    one = terms.award == BatchAward.one_agency
    winners = 1 if one else min(projects, len(eligible))
    proof = draw.draw(
        purchase_id,
        bytes.fromhex(repo.seed(purchase_id)),
        eligible,
        winners=winners,
        reserves=reserves if one else reserves * projects,
        drawn_at=drawn_at,
    )
    assignment = assign(terms.award, projects, [r["agency_id"] for r in proof.ranking], reserves)
    assert assignment.winners == proof.winners and assignment.reserves == proof.reserves
    deadline, weekends_only = confirmation_due(now)
    inherited = purchase.model_dump(include=INHERITED)
    children: list[Purchase] = []
    listed: list[BatchProjectResult] = []
    picks = zip(terms.projects, assignment.agencies, assignment.project_reserves, strict=True)
    for n, (project, agency, own_reserves) in enumerate(picks, start=1):
        result = Result(
            method=purchase.method,
            selected_agency=agency,
            reserves=own_reserves,
            selected_at=drawn_at,
            confirmation_deadline=deadline,
            deadline_counts_weekends_only=weekends_only,
        )
        child = Purchase(
            **inherited,
            purchase_id=child_id(purchase_id, n),
            project_code=project.project_code,
            title=project.title,
            region=project.region,
            amount_yuan=project.amount_yuan,
            status=PurchaseStatus.selected,
            result=result,
            created_at=drawn_at,
            created_by=SYSTEM,
            updated_at=drawn_at,
            batch_of=purchase_id,
        )
        children.append(child)
        listed.append(
            BatchProjectResult(
                **project.model_dump(),
                purchase_id=child.purchase_id,
                agency_id=agency,
                reserves=own_reserves,
            )
        )
    outcome = BatchSplit(award=terms.award, split_at=drawn_at, projects=listed)
    proof = _with_assignment(proof, outcome, reserves, assignment.reserves)
    transition = PURCHASE.expect(purchase.status, "split", subject=purchase_id)
    split = transition.apply(purchase, batch_outcome=outcome, updated_at=drawn_at)
    events = [_split_event(split, outcome, deadline, assignment.reserves)]
    for child in children:  # a consortium that won a project: its members hear of that project
        events += [result_event(child, SYSTEM), *selected_events(child, SYSTEM)]
    try:
        repo.split(
            split,
            children,
            events,
            conflict=f"purchase {purchase_id} was drawn meanwhile",
            draw=proof.as_dict(),
            transition=transition,
        )
    except (Conflict, ServiceUnavailable) as exc:
        current = repo.get(purchase_id, consistent=True)
        if PURCHASE.allows(current.status, "split"):
            raise StepBusy(f"purchase {purchase_id}: the batch's draw could not be saved; retry") from exc
        return current  # another trigger drew first: the same draw, the same projects
    event_bus.flush(events)
    return split


def _with_assignment(
    proof: draw.DrawProof, outcome: BatchSplit, per_project: int, every_reserve: list[str]
) -> draw.DrawProof:
    """The proof states the rule and the assignment (each project's agency and own reserves), so
    anyone recomputes it from the ranking: assign(award, projects, ranking, reserves_per_project)."""
    batch: dict[str, Any] = {
        "award": outcome.award.value,
        "rule": outcome.rule,
        "reserves_per_project": per_project,
        "assignment": [
            {
                "project": n,
                "project_code": p.project_code,
                "purchase_id": p.purchase_id,
                "agency_id": p.agency_id,
                "reserves": p.reserves,
            }
            for n, p in enumerate(outcome.projects, start=1)
        ],
        "reserves": every_reserve,
    }
    return draw.DrawProof(
        **{**proof.__dict__, "extra": {**proof.extra, "method": "random_draw", "batch": batch}}
    )


def _split_event(
    split: Purchase, outcome: BatchSplit, deadline: str, every_reserve: list[str]
) -> DomainEvent:
    data = {
        "purchase_id": split.purchase_id,
        "owner_id": split.owner_id,
        "title": split.title,
        "award": outcome.award.value,
        "projects": [
            {
                "project_code": p.project_code,
                "purchase_id": p.purchase_id,
                "agency_id": p.agency_id,
                "amount_yuan": str(p.amount_yuan),
                "reserves": p.reserves,
            }
            for p in outcome.projects
        ],
        "reserves": every_reserve,
        "confirmation_deadline": deadline,
    }
    return event("BatchSplit", subject=split.purchase_id, data=data, actor=SYSTEM)
