"""Credit (信用, DOMAIN.md §9), as far as purchases need it: an append-only ledger of events per
agency, a score of base plus the events still valid, a level from the regional thresholds, and a
blacklist that bars enrollment while it lasts. Scoring rules and the public profile come later."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from marketplace.domain.model import Model
from marketplace.settings import RegionalRules

ABANDONMENT_POINTS = -5  # 放弃中选: the penalty recorded when a selected agency abandons


class CreditLevel(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"


class CreditEvent(Model):
    credit_event_id: str
    agency_id: str
    points: int
    reason: str
    basis: str = Field(description="what the event rests on, e.g. the purchase and the rule")
    source: str = Field(description="platform, regulator or an external credit system")
    purchase_id: str | None = None
    recorded_at: str
    valid_until: str = Field(description="UTC instant after which it no longer counts")


class CreditStanding(Model):
    """What enrollment and the long list need, kept in one row per agency beside the ledger."""

    agency_id: str
    events: list[CreditEvent] = Field(default_factory=list)
    blacklisted_until: str | None = None

    def score(self, base: int, now: str) -> int:
        return base + sum(e.points for e in self.events if e.valid_until > now)

    def level(self, rules: RegionalRules, now: str) -> CreditLevel:
        score = self.score(rules.credit_base_score, now)
        if score >= rules.credit_level_a_min:
            return CreditLevel.A
        if score >= rules.credit_level_b_min:
            return CreditLevel.B
        if score >= rules.credit_level_c_min:
            return CreditLevel.C
        return CreditLevel.D

    def blacklisted(self, now: str) -> bool:
        return self.blacklisted_until is not None and self.blacklisted_until > now
