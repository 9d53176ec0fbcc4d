"""Credit (信用, DOMAIN.md §9): an append-only ledger of events per agency, scored by rules that are
data (points per kind of event, how ratings map to points, level thresholds, the blacklist period),
a level A-D from the score, and a blacklist that bars taking part while it lasts.

Every event names its source (the platform, a regulator, an imported external record), its kind,
its points as the rules in force gave them, what it rests on (`basis`), what caused it (`cause`),
when it happened and until when it counts."""

from __future__ import annotations

from collections.abc import Callable
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
    blacklists_until: str | None = Field(
        default=None,
        description="serious dishonesty: the end of the blacklist it imposes (occurred + the rules' days)",
    )

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

    @model_validator(mode="after")
    def _coherent(self) -> CreditRules:
        if set(self.rating_points) - {1, 2, 3, 4, 5}:
            raise ValueError("rating_points: the ratings are 1 to 5")
        if any(days < 1 for days in self.validity_days.values()):
            raise ValueError("validity_days: an event counts for at least 1 day")
        if any(abs(p) > self.max_event_points for p in self.points.values()):
            raise ValueError(
                f"points: each kind's points are within ±max_event_points ({self.max_event_points})"
            )
        return self

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


class CreditRuleBook:
    """Every loaded version of the rules (the shipped defaults when none is): the one in force on a
    local date is the latest effective on or before it (of two effective the same day, the higher
    version)."""

    def __init__(self, versions: list[CreditRules]) -> None:
        self.versions = sorted(versions, key=lambda r: r.version) or [DEFAULT_RULES]

    def in_force(self, day: date) -> CreditRules:
        effective = [r for r in self.versions if r.effective_from <= day]
        if not effective:
            return DEFAULT_RULES if DEFAULT_RULES.effective_from <= day else self.versions[0]
        return max(effective, key=lambda r: (r.effective_from, r.version))

    def latest_version(self) -> int:
        return max(r.version for r in self.versions)

    def effective_days(self) -> list[date]:
        """The days a loaded version takes effect (the shipped defaults' excluded)."""
        return sorted({r.effective_from for r in self.versions if r is not DEFAULT_RULES})


class InvalidCreditEvent(ValueError):
    """An event the rules do not allow: `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


OWN_POINTS_KINDS = frozenset({CreditEventKind.reward, CreditEventKind.penalty})
EVALUATION_KINDS = frozenset({CreditEventKind.owner_evaluation, CreditEventKind.regulator_evaluation})


def check_own_points(rules: CreditRules, kind: CreditEventKind, points: int) -> None:
    """A regulator's or an imported reward/penalty carries its own points: a reward adds, a penalty
    takes away, both within the rules' `max_event_points`."""
    if kind not in OWN_POINTS_KINDS:
        raise InvalidCreditEvent("kind", "only a reward or a penalty carries its own points")
    if kind == CreditEventKind.reward and points <= 0:
        raise InvalidCreditEvent("points", "a reward's points are positive")
    if kind == CreditEventKind.penalty and points >= 0:
        raise InvalidCreditEvent("points", "a penalty's points are negative")
    if abs(points) > rules.max_event_points:
        raise InvalidCreditEvent(
            "points", f"at most {rules.max_event_points} either way (the rules in force)"
        )


def blacklist_end(rules: CreditRules, occurred: datetime) -> datetime:
    return occurred + timedelta(days=rules.blacklist_days)


class DimensionTally(Model):
    total: int = 0
    count: int = 0

    @property
    def average(self) -> float | None:
        return round(self.total / self.count, 2) if self.count else None


class CreditStanding(Model):
    """An agency's credit as of `computed_at`, kept in one row beside the ledger that does not grow
    with it: what enrollment, the long list and the profile read. `points` is the sum of the points
    of the events counting then; the score is the base score of the rules in force plus it."""

    agency_id: str
    points: int = 0
    computed_score: int | None = None
    computed_level: CreditLevel | None = None
    rules_version: int | None = None
    computed_at: str | None = None
    blacklisted_until: str | None = None
    completed_purchases: int = 0
    evaluations: dict[str, DimensionTally] = Field(default_factory=dict)
    events_recorded: int = 0
    next_due: str | None = Field(
        default=None, description="the next instant an event starts or stops counting, or a blacklist ends"
    )
    revision: int = Field(default=0, exclude=True)

    def score(self, rules: CreditRules, now: str) -> int:
        return rules.base_score + self.points

    def level(self, rules: CreditRules, now: str) -> CreditLevel:
        return rules.level(self.score(rules, now))

    def blacklisted(self, now: str) -> bool:
        return self.blacklisted_until is not None and self.blacklisted_until > now

    def stale(self, now: str) -> bool:
        """An event's date has passed since it was computed: the daily task recomputes it."""
        return self.next_due is not None and self.next_due <= now

    def state(self) -> tuple[int | None, CreditLevel | None, str | None]:
        return self.computed_score, self.computed_level, self.blacklisted_until


def compute_standing(
    agency_id: str, events: list[CreditEvent], rules: CreditRules, now: str
) -> CreditStanding:
    """The standing from the ledger alone: the events recorded by `now`, scored at `now` with
    `rules` (base score and level thresholds; each event carries its own points). A revoked event
    is compensated by its revocation's points; it no longer blacklists and no longer counts as a
    completion or an evaluation."""
    known = [e for e in events if e.recorded_at <= now]
    revoked = {e.revokes for e in known if e.kind == CreditEventKind.revocation and e.revokes}
    kept = [e for e in known if e.credit_event_id not in revoked]
    points = sum(e.points for e in known if e.counts(now))
    ends = [
        e.blacklists_until
        for e in kept
        if e.kind == CreditEventKind.serious_dishonesty and e.blacklists_until and e.occurred_at <= now
    ]
    until = max(ends) if ends and max(ends) > now else None
    tallies: dict[str, DimensionTally] = {}
    for e in kept:
        if e.kind in EVALUATION_KINDS and e.ratings:
            for dimension, rating in e.ratings.items():
                tally = tallies.setdefault(dimension, DimensionTally())
                tally.total += rating
                tally.count += 1
    upcoming = [
        t
        for e in known
        for t in (
            e.occurred_at,
            e.valid_until,
            e.blacklists_until if e.credit_event_id not in revoked else None,
        )
        if t is not None and t > now
    ]
    score = rules.base_score + points
    return CreditStanding(
        agency_id=agency_id,
        points=points,
        computed_score=score,
        computed_level=rules.level(score),
        rules_version=rules.version,
        computed_at=now,
        blacklisted_until=until,
        completed_purchases=sum(1 for e in kept if e.kind == CreditEventKind.completion),
        evaluations=dict(sorted(tallies.items())),
        events_recorded=len(known),
        next_due=min(upcoming) if upcoming else None,
    )


class ScorePoint(Model):
    """The score at an instant it changed: after an event was recorded (`cause` its id), or when an
    event stopped (or started) counting or a blacklist ended (`cause` "expiry")."""

    at: str
    score: int
    level: CreditLevel
    blacklisted_until: str | None = None
    rules_version: int
    cause: str


def point_of(standing: CreditStanding, cause: str) -> ScorePoint:
    assert standing.computed_at and standing.computed_score is not None and standing.computed_level
    return ScorePoint(
        at=standing.computed_at,
        score=standing.computed_score,
        level=standing.computed_level,
        blacklisted_until=standing.blacklisted_until,
        rules_version=standing.rules_version or 0,
        cause=cause,
    )


RulesAt = Callable[[str], CreditRules]
EXPIRY = "expiry"
RULES_CHANGE = "rules"


def due_between(events: list[CreditEvent], after: str, until: str) -> list[str]:
    """The instants in (after, until] at which an event recorded by then starts or stops counting
    or a blacklist ends: where the score changes without a new event."""
    found = {
        t
        for e in events
        for t in (e.occurred_at, e.valid_until, e.blacklists_until)
        if t is not None and after < t <= until and e.recorded_at < t
    }
    return sorted(found)


def checkpoints(
    agency_id: str,
    events: list[CreditEvent],
    rules_at: RulesAt,
    until: str,
    rule_changes: tuple[str, ...] = (),
) -> list[ScorePoint]:
    """The standing at every instant it may have changed up to `until`: each event's recording,
    each date an event starts or stops counting, and each instant a new version of the rules took
    effect (`rule_changes`) after the first event. Recomputed from the ledger and the rules alone."""
    causes: dict[str, str] = {}
    for e in sorted(events, key=lambda e: e.recorded_at):
        if e.recorded_at <= until:
            causes[e.recorded_at] = e.credit_event_id
    for t in due_between(events, "", until):
        causes.setdefault(t, EXPIRY)
    first = min((e.recorded_at for e in events), default=until)
    for t in rule_changes:
        if first < t <= until:
            causes.setdefault(t, RULES_CHANGE)
    return [
        point_of(compute_standing(agency_id, events, rules_at(t), t), cause)
        for t, cause in sorted(causes.items())
    ]


def changes(points: list[ScorePoint]) -> list[ScorePoint]:
    """The score over time: of the points at one instant the last, then each that differs from the
    one before it in score, level or blacklist (the first always shown)."""
    last_at: dict[str, ScorePoint] = {}
    for p in points:
        last_at[p.at] = p
    shown: list[ScorePoint] = []
    for p in sorted(last_at.values(), key=lambda p: p.at):
        if not shown or (p.score, p.level, p.blacklisted_until) != (
            shown[-1].score,
            shown[-1].level,
            shown[-1].blacklisted_until,
        ):
            shown.append(p)
    return shown


def revocation_of(
    original: CreditEvent,
    *,
    event_id: str,
    reason: str,
    basis: str,
    cause: CreditCause,
    at: str,
    rules_version: int,
) -> CreditEvent:
    """Credit repair: the compensating event that cancels `original` (never an edit of it): the
    opposite points, counting until the original would have stopped; the original no longer
    blacklists and no longer counts as a completion or an evaluation."""
    return CreditEvent(
        credit_event_id=event_id,
        agency_id=original.agency_id,
        source=CreditSource.platform,
        kind=CreditEventKind.revocation,
        points=-original.points,
        reason=reason,
        basis=basis,
        cause=cause,
        occurred_at=at,
        recorded_at=at,
        valid_until=max(original.valid_until, at),
        rules_version=rules_version,
        revokes=original.credit_event_id,
        purchase_id=original.purchase_id,
    )
