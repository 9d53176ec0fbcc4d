"""Proposal best-value (方案择优, docs/proposals.md): sealed submissions, opening them at closing,
the panel's scores, and the selection the last score triggers.

- An enrolled agency submits (or replaces) its proposal's reference and hash until the enrollment
  deadline; they are sealed under the KMS sealing key (context: purchase and agency) before they
  are stored, and the agency keeps a receipt. Nothing about a submission is emitted before the
  deadline: no event, no log line, no route but the agency's own receipt.
- At closing (`open_scoring`, a CLOSERS entry of services.purchase_window) the eligible agencies'
  proposals are unsealed onto the purchase; the candidates are the eligible agencies that submitted.
- The panel is the owner's seat (any one of its users scores for it) and each named reviewer; each
  seat scores each proposal once. The last missing score ranks the proposals in the same request
  (`rank`): one conditioned write moves the purchase to `selected` with the draw proof, so two
  last scores landing together make exactly one selection.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from marketplace.auth import Principal
from marketplace.clock import utcnow
from marketplace.domain.model import revised
from marketplace.domain.proposal_scores import (
    ProposalReceipt,
    ProposalShown,
    ProposalSubmission,
    Score,
    ScoreSheet,
    ScoresView,
    SeatProgress,
    missing_scores,
    sheet_problems,
    shown,
    submission_digest,
    total,
    weighted_totals,
)
from marketplace.domain.proposals import OWNER_SEAT, ProposalScoring, RevealedProposal, panel_of, seat_label
from marketplace.domain.purchases import PURCHASE, Purchase, PurchaseStatus, SelectionMethod, stamp
from marketplace.errors import Conflict, FieldError, Forbidden, NotFound, ServiceUnavailable, ValidationFailed
from marketplace.events import DomainEvent, event
from marketplace.observability import log
from marketplace.repositories import event_bus, sealing
from marketplace.repositories import proposals as proposals_repo
from marketplace.repositories import purchases as repo
from marketplace.services.purchase_access import require_published
from marketplace.settings import get_settings

logger = logging.getLogger("marketplace.proposals")
SYSTEM = "system"
RANK_ATTEMPTS = 3


def _context(purchase_id: str, agency_id: str) -> dict[str, str]:
    return {"purchase_id": purchase_id, "agency_id": agency_id}


def _require_proposals(purchase: Purchase) -> None:
    if purchase.method != SelectionMethod.proposal_best_value or purchase.proposal is None:
        raise Conflict(
            f"purchase {purchase.purchase_id} is not a proposal best-value purchase", reason="method"
        )


# Submission.


def submit(purchase_id: str, submission: ProposalSubmission, by: Principal) -> ProposalReceipt:
    agency_id = by.org_id
    if by.role != "agency" or not agency_id:
        raise Forbidden("only an enrolled agency submits a proposal")
    purchase = repo.get(purchase_id, consistent=True)
    require_published(purchase)
    _require_proposals(purchase)
    now_at = utcnow()
    now = stamp(now_at)
    if purchase.status == PurchaseStatus.suspended:
        raise Conflict("the purchase is suspended by a challenge; it may resume", reason="suspended")
    if not PURCHASE.allows(purchase.status, "enroll") or stamp(purchase.enrollment_deadline) <= now:
        raise Conflict("the proposal deadline (the enrollment deadline) has passed", reason="late")
    plaintext = json.dumps(submission.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    sealed = sealing.seal(plaintext.encode("utf-8"), _context(purchase_id, agency_id))
    digest = submission_digest(submission)
    earlier = proposals_repo.own(purchase_id, agency_id)
    proposals_repo.put_sealed(
        purchase_id,
        proposals_repo.SealedProposal(agency_id=agency_id, sealed=sealed, digest=digest, submitted_at=now),
        now,
        [],  # nothing is announced before the deadline: the receipt is the agency's record
    )
    return ProposalReceipt(
        purchase_id=purchase_id,
        agency_id=agency_id,
        digest=digest,
        submitted_at=now,
        replaces=earlier.digest if earlier is not None else None,
    )


# Closing: the CLOSERS entry.


def open_scoring(purchase: Purchase, eligible: list[str], now: datetime) -> tuple[dict[str, Any], str]:
    """Unseal the eligible agencies' proposals (an ineligible agency's stays sealed); the candidates
    are those with a proposal, and the panel scores them until the scoring deadline."""
    from marketplace.services.calendar import working_calendar

    assert purchase.proposal is not None  # the request model guarantees it
    settings = get_settings()
    wanted = set(eligible)
    opened = []
    for sealed in proposals_repo.sealed(purchase.purchase_id):
        if sealed.agency_id not in wanted:
            continue
        plain = sealing.unseal(sealed.sealed, _context(purchase.purchase_id, sealed.agency_id))
        submission = ProposalSubmission.model_validate(json.loads(plain))
        opened.append(
            RevealedProposal(
                agency_id=sealed.agency_id,
                file_ref=submission.file_ref,
                sha256=submission.sha256,
                title=submission.title,
                submitted_at=sealed.submitted_at,
            )
        )
    opened.sort(key=lambda p: p.agency_id)
    due = working_calendar().deadline(now, settings.rules.scoring_working_days, settings.timezone)
    scoring = ProposalScoring(
        panel=panel_of(purchase.proposal),
        proposals=opened,
        opened_at=stamp(now),
        deadline=stamp(due.at),
        deadline_counts_weekends_only=bool(due.uncovered_years),
    )
    candidates = scoring.candidates()
    update: dict[str, Any] = {"scoring": scoring, "eligible_agencies": candidates}
    minimum = settings.rules.min_eligible_enrollees
    if len(candidates) < minimum:
        update["failure_reason"] = (
            f"{len(candidates)} eligible enrollment(s) with a proposal, fewer than the minimum of {minimum}"
        )
    return update, "open_scoring"


def opened_event(purchase: Purchase) -> DomainEvent:
    """Told at closing: the proposals are open for scoring (to the owner, the candidates)."""
    assert purchase.scoring is not None
    data = {
        "purchase_id": purchase.purchase_id,
        "owner_id": purchase.owner_id,
        "candidates": purchase.scoring.candidates(),
        "panel_size": len(purchase.scoring.panel),
        "deadline": purchase.scoring.deadline,
    }
    return event("ProposalsOpened", subject=purchase.purchase_id, data=data, actor=SYSTEM)


def figures(purchase: Purchase) -> dict[str, Any]:
    """The FIGURES entry: each candidate's weighted total, averaged over the panel."""
    assert purchase.scoring is not None
    return {
        "proposal_scores": weighted_totals(
            proposals_repo.scores(purchase.purchase_id), purchase.scoring.candidates(), purchase.scoring.panel
        )
    }


# Scoring.


def _seat(purchase: Purchase, by: Principal) -> str | None:
    """The caller's panel seat: a reviewer the owner named (checked first: a named reviewer who is
    also a user of the owner's organisation scores for its own seat, or that seat stays empty), or
    the owner's organisation."""
    terms = purchase.proposal
    if terms is not None and by.role in ("owner", "regulator") and by.subject in terms.reviewers:
        return by.subject
    if by.role == "owner" and purchase.is_owned_by(by.org_id):
        return OWNER_SEAT
    return None


def score(purchase_id: str, agency_id: str, sheet: ScoreSheet, by: Principal) -> Score:
    purchase = repo.get(purchase_id, consistent=True)
    seat = _seat(purchase, by)
    if seat is None:
        require_published(purchase)
        raise Forbidden("only the owner's users and the reviewers it named score the proposals")
    # Scores land while the ranking they lead to is still ahead (the state `rank_proposals` starts from).
    PURCHASE.expect(purchase.status, "rank_proposals", subject=purchase_id, reason="not_scoring")
    _require_proposals(purchase)
    assert purchase.proposal is not None and purchase.scoring is not None  # opened at closing
    if agency_id not in purchase.scoring.candidates():
        raise NotFound(f"agency {agency_id} has no proposal being scored in purchase {purchase_id}")
    problems = sheet_problems(purchase.proposal, sheet)
    if problems:
        raise ValidationFailed(
            "the scores do not fit the published criteria",
            errors=[FieldError(p.split(":", 1)[0], p.split(":", 1)[1].strip()) for p in problems],
        )
    now = stamp(utcnow())
    recorded = Score(
        purchase_id=purchase_id,
        agency_id=agency_id,
        seat=seat,
        by=by.subject,
        scores=sheet.scores,
        total=total(sheet.scores),
        comment=sheet.comment,
        scored_at=now,
    )
    data = {
        "purchase_id": purchase_id,
        "owner_id": purchase.owner_id,
        "agency_id": agency_id,
        "seat": seat_label(purchase.scoring.panel, seat),
    }
    events = [event("ProposalScored", subject=purchase_id, data=data, actor=by.subject)]
    try:
        proposals_repo.add_score(recorded, events)
    except Conflict as exc:
        if exc.extra.get("reason") != "duplicate":
            raise
        # The seat's score is in already: a retry after a ranking that failed (a 500 once the score
        # was saved) ranks now, if every score is in. Resending the same sheet is answered with the
        # score as recorded; a different sheet is a second score, refused (409 `duplicate`).
        rank(purchase_id, by.subject)
        existing = proposals_repo.score_of(purchase_id, agency_id, seat)
        same = (recorded.scores, recorded.comment)
        if existing is not None and (existing.scores, existing.comment) == same:
            return existing
        raise
    event_bus.flush(events)
    rank(purchase_id, by.subject)
    return recorded


def rank(purchase_id: str, actor: str = SYSTEM) -> Purchase:
    """Once every seat has scored every candidate: the highest mean weighted total wins, the draw
    breaks ties; one conditioned write (on `scoring` and the revision read) selects, once."""
    from marketplace.domain.selection import SelectionInput, select
    from marketplace.services.outcomes import confirmation_due, result_event

    for _ in range(RANK_ATTEMPTS):
        purchase = repo.get(purchase_id, consistent=True)
        if not PURCHASE.allows(purchase.status, "rank_proposals") or purchase.scoring is None:
            return purchase  # ranked by a racing last score (or not being scored): report the state
        scoring = purchase.scoring
        scores = proposals_repo.scores(purchase_id)
        if missing_scores(scores, scoring.candidates(), scoring.panel):
            return purchase
        now = utcnow()
        totals = weighted_totals(scores, scoring.candidates(), scoring.panel)
        deadline, weekends_only = confirmation_due(now)
        reserves = purchase.reserves if purchase.reserves is not None else get_settings().rules.reserves
        proof, result = select(
            SelectionInput(
                purchase=purchase,
                seed=bytes.fromhex(repo.seed(purchase_id)),
                eligible=scoring.candidates(),
                reserves=reserves,
                drawn_at=stamp(now),
                confirmation_deadline=deadline,
                proposal_scores=totals,
            )
        )
        result = revised(result, deadline_counts_weekends_only=weekends_only)
        transition = PURCHASE.expect(purchase.status, "rank_proposals", subject=purchase_id)
        ranked = revised(scoring, totals=totals, completed_at=stamp(now))
        selected = transition.apply(purchase, result=result, scoring=ranked, updated_at=stamp(now))
        events = [result_event(selected, actor)]
        try:
            repo.save(
                selected,
                events,
                conflict=f"purchase {purchase_id} was ranked meanwhile",
                draw=proof.as_dict(),
                transition=transition,
            )
        except (Conflict, ServiceUnavailable):
            continue  # a racing last score ranked it, or a transaction met ours: read again
        event_bus.flush(events)
        log(logger, logging.INFO, "proposals ranked", purchase_id=purchase_id)
        return selected
    return repo.get(purchase_id, consistent=True)


def check_scoring(purchase_id: str) -> Purchase:
    """The sweeper's step of a purchase being scored. Every score in (the last score's ranking
    failed after it was saved): rank it now. Otherwise, at the scoring deadline, a scoring still
    unfinished is reported to the admin, once; the panel may still finish it, and the result follows
    the last score as ever (or this step, if that ranking fails)."""
    purchase = repo.get(purchase_id, consistent=True)
    scoring = purchase.scoring
    if not PURCHASE.allows(purchase.status, "rank_proposals") or scoring is None:
        return purchase
    missing = missing_scores(proposals_repo.scores(purchase_id), scoring.candidates(), scoring.panel)
    if not missing:
        return rank(purchase_id)
    now = stamp(utcnow())
    due = PURCHASE.allows(purchase.status, "escalate_scoring") and scoring.deadline <= now
    if not due or scoring.escalated_at:
        return purchase
    transition = PURCHASE.expect(purchase.status, "escalate_scoring", subject=purchase_id)
    escalated = transition.apply(purchase, scoring=revised(scoring, escalated_at=now), updated_at=now)
    data = {
        "purchase_id": purchase_id,
        "owner_id": purchase.owner_id,
        "deadline": scoring.deadline,
        "missing": len(missing),
        "seats_missing": sorted({seat_label(scoring.panel, seat) for seat, _ in missing}),
    }
    events = [event("ProposalScoringOverdue", subject=purchase_id, data=data, actor=SYSTEM)]
    try:
        repo.save(
            escalated, events, conflict=f"purchase {purchase_id} changed meanwhile", transition=transition
        )
    except Conflict:
        return repo.get(purchase_id, consistent=True)
    event_bus.flush(events)
    return escalated


# Reading the scores.


def score_view(purchase_id: str, by: Principal | None) -> ScoresView:
    """After the result: every score of every seat (by label), with each proposal's mean weighted
    total, to anyone. Before it: a panel member sees its own scores and which seats have scored
    which proposal (never another seat's figures); anyone else is refused."""
    purchase = repo.get(purchase_id, consistent=True)
    seat = _seat(purchase, by) if by is not None else None
    if seat is None and not (by is not None and by.is_admin()):
        require_published(purchase)
    _require_proposals(purchase)
    assert purchase.proposal is not None
    scoring = purchase.scoring
    if scoring is None:
        raise Conflict("the proposals are sealed until the enrollment deadline", reason="sealed")
    published = purchase.result is not None and purchase.status != PurchaseStatus.scoring
    if not published and seat is None:
        raise Conflict(
            "the scores are published with the result; until then each reviewer sees only its own",
            reason="sealed",
        )
    scores = proposals_repo.scores(purchase_id)
    panel = scoring.panel
    view: dict[str, Any] = {
        "purchase_id": purchase_id,
        "status": purchase.status.value,
        "published": published,
        "criteria": purchase.proposal.criteria,
        "panel": [seat_label(panel, s) for s in panel],
    }
    if published:
        totals = weighted_totals(scores, scoring.candidates(), panel)
        ordered = sorted(scores, key=lambda s: (s.agency_id, panel.index(s.seat)))
        return ScoresView(
            **view,
            proposals=[
                ProposalShown(
                    agency_id=p.agency_id,
                    sha256=p.sha256,
                    title=p.title,
                    submitted_at=p.submitted_at,
                    weighted_total=totals[p.agency_id],
                )
                for p in scoring.proposals
            ],
            scores=[shown(s, panel) for s in ordered],
        )
    assert seat is not None
    return ScoresView(
        **view,
        you=seat_label(panel, seat),
        proposals=[ProposalShown.model_validate(p.model_dump()) for p in scoring.proposals],
        progress=[
            SeatProgress(seat=seat_label(panel, s), scored=sorted(x.agency_id for x in scores if x.seat == s))
            for s in panel
        ],
        scores=[shown(s, panel, with_author=True) for s in scores if s.seat == seat],
    )
