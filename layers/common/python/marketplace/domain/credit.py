"""Credit (信用, DOMAIN.md §9): an append-only ledger of events per agency, scored by rules that are
data (points per kind of event, how ratings map to points, level thresholds, the blacklist period),
a level A-D from the score, and a blacklist that bars taking part while it lasts.

Every event names its source (the platform, a regulator, an imported external record), its kind,
its points as the rules in force gave them, what it rests on (`basis`), what caused it (`cause`),
when it happened and until when it counts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum

from pydantic import Field, model_validator

from marketplace.domain.model import Model, StrictModel


class CreditLevel(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"


class CreditSource(StrEnum):
    platform = "platform"  # recorded by the marketplace itself from what happened in it
    regulator = "regulator"  # an industry regulator's reward or penalty, with its legal basis
    imported = "imported"  # an external credit system's record (信用中国, the provincial system)


class CreditEventKind(StrEnum):
    abandonment = "abandonment"  # 放弃中选
    contract_late = "contract_late"  # no signed contract within the rule's days
    contract_refused = "contract_refused"  # the agency refused to countersign
    delivery_late = "delivery_late"  # delivered after the offering's promised time limit
    owner_evaluation = "owner_evaluation"  # points from the owner's ratings
    regulator_evaluation = "regulator_evaluation"  # points from the regulator's rating
    complaint_upheld = "complaint_upheld"  # a complaint against the agency's conduct upheld
    reward = "reward"  # 守信激励: a regulator's or an external system's reward
    penalty = "penalty"  # 失信惩戒: a regulator's or an external system's penalty
    serious_dishonesty = "serious_dishonesty"  # 严重失信: blacklists for the rule's period
    revocation = "revocation"  # credit repair: compensates a revoked event, never edits it
    completion = "completion"  # a purchase completed (履约记录): counted on the profile


class CreditCause(StrictModel):
    """What the event links to: the record that caused it, and where the public reads it."""

    type: str = Field(
        min_length=1,
        max_length=40,
        description="purchase, contract, delivery, evaluation, challenge, decision, import or appeal",
    )
    id: str = Field(min_length=1, max_length=200)
    purchase_id: str | None = None


class CreditEvent(Model):
    credit_event_id: str
    agency_id: str
    source: CreditSource
    kind: CreditEventKind
    points: int
    reason: str = Field(description="what happened, in a sentence")
    basis: str = Field(description="what the event rests on: the rule, the legal basis, the record")
    cause: CreditCause
    occurred_at: str = Field(description="UTC instant it happened")
    recorded_at: str = Field(description="UTC instant the ledger received it")
    valid_until: str = Field(description="UTC instant after which it no longer counts")
    rules_version: int = Field(description="the version of the credit rules that gave its points")
    revokes: str | None = Field(default=None, description="a revocation: the event it compensates")
    ratings: dict[str, int] | None = Field(
        default=None, description="an evaluation's ratings per dimension (1-5): the profile's averages"
    )
    purchase_id: str | None = None

    def counts(self, now: str) -> bool:
        return self.occurred_at <= now < self.valid_until


class LevelThresholds(StrictModel):
    """The lowest score of each level; below C's is D."""

    A: int = 90
    B: int = 75
    C: int = 60

    @model_validator(mode="after")
    def _descending(self) -> LevelThresholds:
        if not self.A > self.B > self.C:
            raise ValueError("thresholds must descend: A > B > C")
        return self


def _default_points() -> dict[CreditEventKind, int]:
    K = CreditEventKind
    return {
        K.abandonment: -5,
        K.contract_late: -3,
        K.contract_refused: -5,
        K.delivery_late: -3,
        K.complaint_upheld: -5,
        K.serious_dishonesty: -40,
    }


def _default_validity() -> dict[CreditEventKind, int]:
    return {kind: 365 for kind in CreditEventKind}


def _default_rating_points() -> dict[int, int]:
    # A rounded average rating of 1..5 → points: good service is rewarded, poor service costs.
    return {1: -5, 2: -2, 3: 0, 4: 1, 5: 2}


class CreditRules(StrictModel):
    """One version of the credit rules, in force from `effective_from` (a local date) until the
    next version's. The points of a regulator's or an imported reward/penalty are the event's own,
    within `max_event_points`."""

    version: int = Field(ge=1)
    effective_from: date
    base_score: int = 100
    points: dict[CreditEventKind, int] = Field(default_factory=_default_points)
    validity_days: dict[CreditEventKind, int] = Field(default_factory=_default_validity)
    rating_points: dict[int, int] = Field(default_factory=_default_rating_points)
    levels: LevelThresholds = Field(default_factory=LevelThresholds)
    blacklist_days: int = Field(default=365, ge=1)
    max_event_points: int = Field(default=50, ge=1)
    low_rating_mark: int = Field(
        default=3, ge=1, le=5, description="a rating below this needs a written reason"
    )

    def points_for(self, kind: CreditEventKind, *, rating: float | None = None) -> int:
        """The points the platform records for `kind`; an evaluation's from its average rating."""
        if kind in (CreditEventKind.owner_evaluation, CreditEventKind.regulator_evaluation):
            if rating is None:
                raise ValueError(f"{kind.value} needs the rating it scores")
            return self.rating_points.get(max(1, min(5, round(rating))), 0)
        return self.points.get(kind, 0)

    def valid_until(self, kind: CreditEventKind, occurred: datetime) -> datetime:
        return occurred + timedelta(days=self.validity_days.get(kind, 365))

    def level(self, score: int) -> CreditLevel:
        if score >= self.levels.A:
            return CreditLevel.A
        if score >= self.levels.B:
            return CreditLevel.B
        if score >= self.levels.C:
            return CreditLevel.C
        return CreditLevel.D


DEFAULT_RULES = CreditRules(version=1, effective_from=date(2026, 1, 1))


class CreditStanding(Model):
    """What enrollment and the long list need, kept in one row per agency beside the ledger."""

    agency_id: str
    events: list[CreditEvent] = Field(default_factory=list)
    blacklisted_until: str | None = None

    def score(self, rules: CreditRules, now: str) -> int:
        return rules.base_score + sum(e.points for e in self.events if e.counts(now))

    def level(self, rules: CreditRules, now: str) -> CreditLevel:
        return rules.level(self.score(rules, now))

    def blacklisted(self, now: str) -> bool:
        return self.blacklisted_until is not None and self.blacklisted_until > now
