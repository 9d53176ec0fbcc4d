"""Proposal best-value (方案择优, docs/proposals.md): what the agencies submit and what the panel
scores, and the scores page. Only the proposal routes and their service load this module; the
purchase document holds the terms and the scoring (domain/proposals.py)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from marketplace.domain.model import Model, StrictModel
from marketplace.domain.proposals import OWNER_SEAT, Criterion, ProposalTerms, seat_label

SHA256_PATTERN = r"^[0-9a-f]{64}$"


class ProposalSubmission(StrictModel):
    """What an agency sends: where its proposal is, and the SHA-256 of the file, which binds it."""

    file_ref: str = Field(
        min_length=1, max_length=500, description="the proposal's reference (a document store key or URL)"
    )
    sha256: str = Field(pattern=SHA256_PATTERN, description="hex SHA-256 of the proposal file, lower case")
    title: str = Field(default="", max_length=200)


class ProposalReceipt(Model):
    """What the agency keeps: proof of what it sent and when, without the platform storing it in clear."""

    purchase_id: str
    agency_id: str
    digest: str = Field(
        description="hex SHA-256 of the submission as sent (canonical JSON): the agency's proof"
    )
    submitted_at: str
    replaces: str | None = Field(default=None, description="the digest of the submission this one replaced")


def submission_digest(submission: ProposalSubmission) -> str:
    """The receipt's digest: SHA-256 of the submission's canonical JSON (sorted keys, no spaces)."""
    import hashlib
    import json

    canonical = json.dumps(submission.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# Scores.

SCORE_PLACES = Decimal("0.01")
TOTAL_PLACES = Decimal("0.0001")


class ScoreSheet(StrictModel):
    """One reviewer's scores of one proposal: for each criterion, points from 0 to its weight."""

    scores: dict[str, Decimal] = Field(
        description="criterion name -> points, 0..the criterion's weight, 2 places"
    )
    comment: str = Field(default="", max_length=2000)


class Score(Model):
    purchase_id: str
    agency_id: str
    seat: str = Field(description=f"the panel seat: `{OWNER_SEAT}` or the reviewer's subject")
    by: str = Field(description="the user who scored (for the owner's seat, which of its users)")
    scores: dict[str, Decimal]
    total: Decimal = Field(description="the sum of the points: 0..100")
    comment: str = ""
    scored_at: str


def sheet_problems(terms: ProposalTerms, sheet: ScoreSheet) -> list[str]:
    """What is wrong with a score sheet against the published criteria (empty when it is sound)."""
    weights = {c.name: c.weight for c in terms.criteria}
    problems = [
        f"scores.{name}: not a criterion of this purchase" for name in sheet.scores if name not in weights
    ]
    problems += [f"scores.{name}: missing" for name in weights if name not in sheet.scores]
    for name, value in sheet.scores.items():
        if name not in weights:
            continue
        if not value.is_finite() or value != value.quantize(SCORE_PLACES):
            problems.append(f"scores.{name}: at most two decimal places")
        elif not Decimal(0) <= value <= weights[name]:
            problems.append(f"scores.{name}: {value} is outside 0..{weights[name]} (the criterion's weight)")
    return problems


def total(scores: dict[str, Decimal]) -> Decimal:
    return sum(scores.values(), Decimal(0)).quantize(SCORE_PLACES)


def weighted_totals(scores: list[Score], candidates: list[str], panel: list[str]) -> dict[str, Decimal]:
    """Each candidate's figure: the mean of the panel's totals, to four places (sums differ by at least
    0.01 and a panel has at most 10 seats, so rounding neither makes nor breaks a tie)."""
    sums: dict[str, Decimal] = {a: Decimal(0) for a in candidates}
    for s in scores:
        if s.agency_id in sums:
            sums[s.agency_id] += s.total
    return {a: (v / len(panel)).quantize(TOTAL_PLACES) for a, v in sums.items()}


def missing_scores(scores: list[Score], candidates: list[str], panel: list[str]) -> list[tuple[str, str]]:
    """(seat, agency) pairs not scored yet: scoring is complete when this is empty."""
    done = {(s.seat, s.agency_id) for s in scores}
    return [(seat, a) for seat in panel for a in candidates if (seat, a) not in done]


class ScoreShown(Model):
    agency_id: str
    seat: str = Field(description=f"`{OWNER_SEAT}` or `reviewer-<n>`, in the order the owner named them")
    scores: dict[str, Decimal]
    total: Decimal
    comment: str = ""
    scored_at: str
    by: str | None = Field(default=None, description="the user who scored: shown to that seat only")


class ProposalShown(Model):
    agency_id: str
    sha256: str
    title: str = ""
    submitted_at: str
    file_ref: str | None = Field(default=None, description="to the panel only, while scoring")
    weighted_total: Decimal | None = Field(
        default=None, description="after the result: the panel's mean total"
    )


class SeatProgress(Model):
    seat: str
    scored: list[str] = Field(
        description="the agencies whose proposal this seat has scored (not the figures)"
    )


class ScoresView(Model):
    """GET /purchases/{id}/scores."""

    purchase_id: str
    status: str
    published: bool = Field(description="true once the result is out: every score is public")
    criteria: list[Criterion]
    panel: list[str]
    you: str | None = Field(default=None, description="the caller's seat, before the result")
    proposals: list[ProposalShown]
    progress: list[SeatProgress] = Field(default_factory=list)
    scores: list[ScoreShown]


def shown(score: Score, panel: list[str], *, with_author: bool = False) -> ScoreShown:
    return ScoreShown(
        agency_id=score.agency_id,
        seat=seat_label(panel, score.seat),
        scores=score.scores,
        total=score.total,
        comment=score.comment,
        scored_at=score.scored_at,
        by=score.by if with_author else None,
    )
