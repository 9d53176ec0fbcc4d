"""Proposal best-value (方案择优, DOMAIN.md §5): the weighted criteria a purchase publishes before
enrollment, and who scores the sealed proposals after closing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import Field, model_validator

from marketplace.domain.model import Model, StrictModel

MAX_CRITERIA = 10
MAX_REVIEWERS = 9


class Criterion(StrictModel):
    name: str = Field(min_length=1, max_length=100)
    weight: int = Field(ge=1, le=100, description="the weights of a purchase's criteria sum to 100")
    description: str = Field(default="", max_length=1000)


class ProposalTerms(StrictModel):
    criteria: list[Criterion] = Field(min_length=1, max_length=MAX_CRITERIA)
    reviewers: list[str] = Field(
        default_factory=list,
        max_length=MAX_REVIEWERS,
        description="the token subjects of the reviewers the owner names, besides its own users",
    )

    @model_validator(mode="after")
    def _weights(self) -> ProposalTerms:
        if sum(c.weight for c in self.criteria) != 100:
            raise ValueError("the criteria's weights must sum to 100")
        names = [c.name for c in self.criteria]
        if len(set(names)) != len(names):
            raise ValueError("each criterion is named once")
        if len(set(self.reviewers)) != len(self.reviewers):
            raise ValueError("each reviewer is named once")
        return self


# Submission (sealed until the enrollment deadline).

SHA256_PATTERN = r"^[0-9a-f]{64}$"
# The one panel seat the owner's organisation holds: any of its users scores for it, once per proposal.
OWNER_SEAT = "owner"


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


class RevealedProposal(Model):
    """A proposal opened at closing (the agency's submission, with when it arrived)."""

    agency_id: str
    file_ref: str
    sha256: str
    title: str = ""
    submitted_at: str


class ProposalScoring(Model):
    """Fixed at closing: the opened proposals of the candidates, the panel, and the scoring deadline."""

    panel: list[str] = Field(description=f"`{OWNER_SEAT}` (the owner's organisation) and the reviewers")
    proposals: list[RevealedProposal]
    opened_at: str
    deadline: str = Field(
        description="closing + RULE_SCORING_WORKING_DAYS working days: the admin is told if unfinished"
    )
    deadline_counts_weekends_only: bool = False
    escalated_at: str | None = Field(
        default=None, description="when the admin was told scoring was unfinished"
    )
    completed_at: str | None = Field(default=None, description="when the last score landed and ranked them")
    totals: dict[str, Decimal] = Field(
        default_factory=dict, description="with the result: each proposal's mean weighted total (0..100)"
    )

    def candidates(self) -> list[str]:
        return sorted(p.agency_id for p in self.proposals)


def panel_of(terms: ProposalTerms) -> list[str]:
    return [OWNER_SEAT, *terms.reviewers]


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


# What the public sees. Reviewers are named by their token subjects, which identify people: the
# public sees how many there are and, after the result, their scores under a seat label.


def seat_label(panel: list[str], seat: str) -> str:
    return seat if seat == OWNER_SEAT else f"reviewer-{panel.index(seat)}"


class ProposalTermsPublic(Model):
    criteria: list[Criterion]
    reviewers: int = Field(description="how many reviewers the owner named besides itself (who: not public)")

    @model_validator(mode="before")
    @classmethod
    def _count(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("reviewers"), list):
            return {**data, "reviewers": len(data["reviewers"])}
        return data


class ProposalOpened(Model):
    agency_id: str
    sha256: str
    title: str = ""
    submitted_at: str


class ProposalScoringPublic(Model):
    """The public part of the scoring: which proposals are scored (hash, not reference) and until when."""

    panel_size: int
    proposals: list[ProposalOpened]
    opened_at: str
    deadline: str
    escalated_at: str | None = None
    completed_at: str | None = None
    totals: dict[str, Decimal] = Field(
        default_factory=dict,
        description="with the result: each proposal's mean weighted total (every score: GET .../scores)",
    )

    @model_validator(mode="before")
    @classmethod
    def _from_scoring(cls, data: Any) -> Any:
        if isinstance(data, dict) and "panel" in data:
            data = {k: v for k, v in data.items() if k in cls.model_fields or k == "panel"}
            data["panel_size"] = len(data.pop("panel"))
            data["proposals"] = [
                {k: p[k] for k in ProposalOpened.model_fields if k in p} for p in data.get("proposals", [])
            ]
        return data


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
