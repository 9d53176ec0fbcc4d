"""Credit repair (信用修复, DOMAIN.md §9): the agency appeals an event of its ledger with its reasons;
the admin upholds the event (it stays) or revokes it with a compensating `revocation` event of the
negated points (never an edit). Both are public on the agency's credit profile.

One appeal per event: the decision closes it for good on the platform (further remedy is outside
it: administrative reconsideration or litigation)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator

from marketplace.domain.lifecycle import Lifecycle
from marketplace.domain.model import Model, StrictModel


class AppealStatus(StrEnum):
    filed = "filed"
    upheld = "upheld"  # the event stays
    revoked = "revoked"  # a revocation event compensates it


class AppealDecision(StrEnum):
    uphold = "uphold"
    revoke = "revoke"


P = AppealStatus

# An appeal's lifecycle: filed by the agency (`POST /credit/events/{id}/appeal`), decided by the
# admin (`POST /credit/events/{id}/appeal/decision`).
APPEAL: Lifecycle[AppealStatus] = Lifecycle(
    "appeal",
    AppealStatus,
    [
        (P.filed, "uphold", ("admin",), P.upheld),
        (P.filed, "revoke", ("admin",), P.revoked),
    ],
)


class AppealIn(StrictModel):
    reasons: str = Field(min_length=1, max_length=2000, description="why the event is wrong or repaired")
    evidence: list[str] = Field(
        default_factory=list, max_length=10, description="references of documents that support it"
    )


class AppealDecisionIn(StrictModel):
    decision: AppealDecision
    reasons: str = Field(min_length=1, max_length=2000)


class Appeal(Model):
    """An appeal and, once decided, its decision; public on the profile (no user names)."""

    credit_event_id: str
    agency_id: str
    status: AppealStatus = AppealStatus.filed
    reasons: str
    evidence: list[str] = Field(default_factory=list)
    filed_at: str
    decision_reasons: str | None = None
    decided_at: str | None = None
    revocation_event_id: str | None = Field(default=None, description="the compensating event, if revoked")

    @model_validator(mode="after")
    def _decided_in_full(self) -> Appeal:
        if (self.status == AppealStatus.filed) != (self.decided_at is None):
            raise ValueError("a decided appeal has its decision time, a filed one none")
        return self
