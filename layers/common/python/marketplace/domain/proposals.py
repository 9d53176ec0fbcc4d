"""Proposal best-value (方案择优, DOMAIN.md §5): the weighted criteria a purchase publishes before
enrollment, and who scores the sealed proposals after closing: what the purchase document holds.
What the agencies submit and the panel scores is in domain/proposal_scores.py."""

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


# The panel. Submissions and scores: domain/proposal_scores.py (only the proposal routes load them).

# The one panel seat the owner's organisation holds: any of its users scores for it, once per proposal.
OWNER_SEAT = "owner"


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
