"""Consortium mode (联合体, docs/consortium.md): what the lead sends in its enrollment body and
a member answers, and how the body is checked against the purchase's terms. Only the enrollment
routes and their services load this module; a purchase holds its terms and consortia
(domain/consortium.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from marketplace.domain.consortium import AGENCY_ID_PATTERN, MAX_MEMBERS, ConsortiumTerms
from marketplace.domain.model import StrictModel


class MemberPart(StrictModel):
    agency_id: str = Field(pattern=AGENCY_ID_PATTERN)
    part: str = Field(
        min_length=1,
        max_length=100,
        description="the member's share of the work (分工), e.g. 现场监测 or 30%",
    )


class ConsortiumRequest(StrictModel):
    """What the lead sends in its enrollment body: the members and their parts."""

    members: list[MemberPart] = Field(min_length=1, max_length=MAX_MEMBERS)
    lead_part: str = Field(default="", max_length=100, description="the lead's own share of the work")

    @model_validator(mode="after")
    def _distinct(self) -> ConsortiumRequest:
        ids = [m.agency_id for m in self.members]
        duplicate = next((a for a in ids if ids.count(a) > 1), None)
        if duplicate is not None:
            raise ValueError(f"agency {duplicate} is listed twice")
        return self


class EnrollmentRequest(StrictModel):
    """The optional body of `POST /purchases/{id}/enrollments`: empty to enroll alone."""

    consortium: ConsortiumRequest | None = Field(
        default=None, description="enroll as the lead of a consortium (联合体) with these members"
    )


class MembershipDecision(StrictModel):
    """A member's answer to the lead's invitation."""

    decision: Literal["accept", "decline"]
    note: str = Field(default="", max_length=300, description="why, for a decline (told to the lead)")


def request_problems(
    request: ConsortiumRequest, terms: ConsortiumTerms | None, lead_id: str
) -> list[tuple[str, str]]:
    """(field, message) for each way the body breaks the purchase's terms; empty when it keeps them."""
    if terms is None or not terms.allowed:
        return [("consortium", "this purchase does not allow consortia (联合体): enroll alone")]
    problems: list[tuple[str, str]] = []
    if len(request.members) > terms.max_members:
        problems.append(
            (
                "consortium.members",
                f"{len(request.members)} members; the purchase allows at most "
                f"{terms.max_members} besides the lead",
            )
        )
    for n, member in enumerate(request.members):
        if member.agency_id == lead_id:
            problems.append((f"consortium.members[{n}].agency_id", "the lead cannot also be a member"))
    return problems
