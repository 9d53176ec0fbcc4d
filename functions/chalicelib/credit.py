"""Routes of credit (DOMAIN.md §9, docs/credit.md): the public credit profile (信用脸谱) and the
agency's events, and the credit rules, public, loaded by the admin as versioned data."""

from __future__ import annotations

from datetime import date
from typing import Any

from chalice import Blueprint
from pydantic import Field

from marketplace.domain.credit import CreditEventKind, CreditRules, LevelThresholds
from marketplace.domain.model import Model, StrictModel
from marketplace.services import credit as service
from marketplace.services.credit import CreditProfile, ProfileEvent
from marketplace.web.http import Call, route
from marketplace.web.pages import Page, PageQuery

bp = Blueprint(__name__)


class RulesLoad(StrictModel):
    """A new version of the credit rules: numbered after the latest by the platform, in force from
    `effective_from` (today or later). A field left out takes the shipped default."""

    effective_from: date
    base_score: int | None = Field(default=None, ge=0, le=1000)
    points: dict[CreditEventKind, int] | None = Field(
        default=None, description="the points the platform records for each kind"
    )
    validity_days: dict[CreditEventKind, int] | None = Field(
        default=None, description="how many days each kind of event counts"
    )
    rating_points: dict[int, int] | None = Field(
        default=None, description="a rounded average rating (1-5) → the points of an evaluation"
    )
    levels: LevelThresholds | None = Field(default=None, description="the lowest score of A, B and C")
    blacklist_days: int | None = Field(default=None, ge=1, le=3650)
    max_event_points: int | None = Field(default=None, ge=1, le=1000)
    low_rating_mark: int | None = Field(default=None, ge=1, le=5)


class RulesVersionOut(CreditRules):
    loaded_at: str | None = Field(default=None, description="when the admin loaded it")


class RulesOut(Model):
    in_force: CreditRules = Field(description="the version in force today")
    versions: list[RulesVersionOut] = Field(
        description="every version loaded, oldest first; version 1, the shipped defaults, is not listed"
    )


@route(
    bp,
    "/agencies/{agency_id}/credit",
    name="get_agency_credit",
    summary="An agency's public credit profile (信用脸谱)",
    response=CreditProfile,
    description="Score, level, blacklist and until when, every event with its basis and cause, "
    "evaluation averages per dimension, the score over time and completed purchases; read with one "
    "Query. An agency without any credit record (or an unknown id) shows the base score.",
)
def get_agency_credit(call: Call) -> CreditProfile:
    return service.profile(call.params["agency_id"])


@route(
    bp,
    "/agencies/{agency_id}/credit/events",
    name="list_agency_credit_events",
    summary="An agency's credit events, the latest to occur first",
    query=PageQuery,
    response=Page[ProfileEvent],
)
def list_agency_credit_events(call: Call) -> Page[ProfileEvent]:
    q: PageQuery = call.query
    items, cursor = service.events_page(call.params["agency_id"], limit=q.limit, cursor=q.cursor)
    return Page[ProfileEvent](items=items, cursor=cursor)


def _rules_out() -> RulesOut:
    found = service.rules_document()
    return RulesOut(
        in_force=found.in_force,
        versions=[RulesVersionOut.model_validate(v) for v in found.versions],
    )


@route(
    bp,
    "/credit/rules",
    name="get_credit_rules",
    summary="The credit rules: every version and the one in force",
    response=RulesOut,
)
def get_credit_rules(call: Call) -> RulesOut:
    return _rules_out()


@route(
    bp,
    "/credit/rules",
    "PUT",
    name="load_credit_rules",
    summary="Load a new version of the credit rules, in force from a date",
    roles=("admin",),
    body=RulesLoad,
    response=CreditRules,
    description="The version is the next number; `effective_from` must not be in the past. Two loads "
    "at once: one takes the number, the other is a 409 (load again). Events keep the points they were "
    "recorded with; the base score and the level thresholds in force apply from the date on.",
)
def load_credit_rules(call: Call) -> CreditRules:
    document: dict[str, Any] = call.body.model_dump(mode="json", exclude_none=True)
    return service.load_rules(document, by=call.caller.subject)
