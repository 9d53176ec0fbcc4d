"""Consortium mode (联合体, DOMAIN.md §5): a lead agency enrolls with member agencies, where the
purchase allows it; every member must be admitted and eligible."""

from __future__ import annotations

from pydantic import Field

from marketplace.domain.model import StrictModel

MAX_MEMBERS = 5


class ConsortiumTerms(StrictModel):
    """Published with the announcement: consortia may enroll, with at most `max_members` members
    besides the lead."""

    allowed: bool = True
    max_members: int = Field(default=2, ge=1, le=MAX_MEMBERS)
