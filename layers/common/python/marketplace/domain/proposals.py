"""Proposal best-value (方案择优, DOMAIN.md §5): the weighted criteria a purchase publishes before
enrollment, and who scores the sealed proposals after closing."""

from __future__ import annotations

from pydantic import Field, model_validator

from marketplace.domain.model import StrictModel

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
