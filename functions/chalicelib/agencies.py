"""Routes of agency admission and supervision (DOMAIN.md §2) and the public agency directory."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalice import Blueprint
from pydantic import Field, model_validator

from marketplace.clock import parse_iso, utcnow
from marketplace.domain.agencies import (
    AgencyProfile,
    AgencyPublic,
    AgencyStatus,
    AgencySummary,
    OfferingEligibility,
    PublicRecord,
    QualificationCertificate,
    ReviewDecision,
    Submission,
    public_record,
    public_view,
)
from marketplace.domain.catalogue import ITEM_CODE_PATTERN
from marketplace.domain.model import Model, StrictModel
from marketplace.services import agencies as service
from marketplace.web.http import Call, route
from marketplace.web.pages import Page, PageQuery

bp = Blueprint(__name__)
REVIEWERS = ("admin", "regulator")


class Application(AgencyProfile):
    note: str = Field(default="", max_length=1000, description="a word to the reviewers")


class Extension(StrictModel):
    certificates: list[QualificationCertificate] = Field(min_length=1, max_length=50)
    note: str = Field(default="", max_length=1000)


class EligibilityOut(Model):
    eligible: bool = Field(description="every offered item can be admitted")
    items: list[OfferingEligibility]


class ReviewIn(StrictModel):
    submission: int = Field(ge=1, description="the submission number being reviewed")
    decision: ReviewDecision
    reasons: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _rejections_say_why(self) -> ReviewIn:
        if self.decision == ReviewDecision.reject and not self.reasons.strip():
            raise ValueError("a rejection must give its reasons")
        return self


class Supervision(StrictModel):
    reason: str = Field(min_length=1, max_length=2000)
    basis: str = Field(min_length=1, max_length=500, description="the rule or decision it rests on")


class DirectoryQuery(PageQuery):
    item_code: str | None = Field(default=None, pattern=ITEM_CODE_PATTERN)
    region: str | None = Field(default=None, pattern=r"^\d{6}$")
    status: AgencyStatus | None = None
    keyword: str | None = Field(default=None, min_length=1, max_length=50)


class PendingReviewOut(Model):
    agency_id: str
    name: str
    submission: int
    kind: str
    slot: str
    due_at: str
    overdue: bool


class QueueQuery(StrictModel):
    limit: int = Field(default=50, ge=1, le=200)


class QueueOut(Model):
    items: list[PendingReviewOut]
    overdue: int


@route(
    bp,
    "/agencies/eligibility",
    "POST",
    name="check_agency_eligibility",
    summary="Check, before applying, which offered items the certificates qualify for",
    roles=("agency",),
    body=AgencyProfile,
    response=EligibilityOut,
)
def check_eligibility(call: Call) -> EligibilityOut:
    results, _ = service.eligibility(call.body)
    return EligibilityOut(eligible=all(r.eligible for r in results), items=results)


@route(
    bp,
    "/agencies",
    "POST",
    name="apply_for_admission",
    summary="Apply for admission (入驻), or resubmit a returned application",
    roles=("agency",),
    body=Application,
    response=Submission,
    status=201,
    idempotent=True,
    description="The agency id is the organisation id in the caller's token. Every offered item must "
    "be in the catalogue, in force and met by valid certificates; the admin and the regulators of the "
    "items' industries then review it jointly.",
)
def apply(call: Call) -> Submission:
    body: Application = call.body
    profile = AgencyProfile.model_validate(body.model_dump(exclude={"note"}))
    return service.apply(profile, call.caller, body.note)


@route(
    bp,
    "/agencies/{agency_id}",
    "PUT",
    name="request_agency_change",
    summary="Submit a change (变更) of the admitted record, reviewed like an application",
    roles=("agency",),
    body=Application,
    response=Submission,
    status=202,
)
def request_change(call: Call) -> Submission:
    body: Application = call.body
    profile = AgencyProfile.model_validate(body.model_dump(exclude={"note"}))
    return service.request_change(call.params["agency_id"], profile, call.caller, body.note)


@route(
    bp,
    "/agencies/{agency_id}/extensions",
    "POST",
    name="request_agency_extension",
    summary="Submit renewed certificates (延期), reviewed like a change",
    roles=("agency",),
    body=Extension,
    response=Submission,
    status=202,
)
def request_extension(call: Call) -> Submission:
    body: Extension = call.body
    return service.request_extension(call.params["agency_id"], body.certificates, call.caller, body.note)


@route(
    bp,
    "/agencies/{agency_id}/submissions",
    name="list_agency_submissions",
    summary="An agency's applications, changes and extensions with every review decision",
    roles=("agency", "admin", "regulator"),
    response=list[Submission],
)
def list_submissions(call: Call) -> list[Submission]:
    return service.submissions_of(call.params["agency_id"], call.caller)


@route(
    bp,
    "/agencies/{agency_id}/reviews",
    "POST",
    name="review_agency",
    summary="Approve or reject a submission (joint review by the admin and the industry regulators)",
    roles=REVIEWERS,
    body=ReviewIn,
    response=Submission,
)
def review(call: Call) -> Submission:
    body: ReviewIn = call.body
    return service.review(call.params["agency_id"], body.submission, body.decision, body.reasons, call.caller)


@route(
    bp,
    "/reviews/queue",
    name="agency_review_queue",
    summary="Reviews the caller owes, oldest deadline first, with the overdue ones flagged",
    roles=REVIEWERS,
    query=QueueQuery,
    response=QueueOut,
)
def queue(call: Call) -> QueueOut:
    now = utcnow()
    pending = service.review_queue(call.caller, call.query.limit)
    items = [
        PendingReviewOut(
            agency_id=p.agency_id,
            name=p.name,
            submission=p.number,
            kind=p.kind,
            slot=p.slot,
            due_at=p.due_at,
            overdue=_overdue(p.due_at, now),
        )
        for p in pending
    ]
    return QueueOut(items=items, overdue=sum(1 for i in items if i.overdue))


def _overdue(due_at: str, now: datetime) -> bool:
    return parse_iso(due_at) < now


@route(
    bp,
    "/agencies/{agency_id}/suspension",
    "POST",
    name="suspend_agency",
    summary="Suspend an agency, with reason and basis",
    roles=REVIEWERS,
    body=Supervision,
    response=AgencyPublic,
)
def suspend(call: Call) -> AgencyPublic:
    body: Supervision = call.body
    return public_view(service.suspend(call.params["agency_id"], body.reason, body.basis, call.caller))


@route(
    bp,
    "/agencies/{agency_id}/expulsion",
    "POST",
    name="expel_agency",
    summary="Expel an agency (清退): it can enroll nowhere and is listed publicly with the reason",
    roles=REVIEWERS,
    body=Supervision,
    response=AgencyPublic,
)
def expel(call: Call) -> AgencyPublic:
    body: Supervision = call.body
    return public_view(service.expel(call.params["agency_id"], body.reason, body.basis, call.caller))


@route(
    bp,
    "/agencies/{agency_id}/reinstatement",
    "POST",
    name="reinstate_agency",
    summary="Reverse a suspension or an expulsion (admin only, recorded)",
    roles=("admin",),
    body=Supervision,
    response=AgencyPublic,
)
def reinstate(call: Call) -> AgencyPublic:
    body: Supervision = call.body
    return public_view(service.reinstate(call.params["agency_id"], body.reason, body.basis, call.caller))


class RecordVersionOut(Model):
    version: int
    submission: int
    record: AgencyProfile | PublicRecord = Field(
        description="the record in force from this version (personal data only for the agency itself, "
        "the admin and regulators)"
    )


@route(
    bp,
    "/agencies/{agency_id}/versions",
    name="list_agency_versions",
    summary="Every admitted version of an agency's record, oldest first",
    optional_auth=True,
    response=list[RecordVersionOut],
)
def versions(call: Call) -> list[RecordVersionOut]:
    found, private = service.record_versions(call.params["agency_id"], call.principal)
    return [
        RecordVersionOut(
            version=v.version,
            submission=v.submission,
            record=v.record if private else public_record(v.record),
        )
        for v in found
    ]


@route(
    bp,
    "/agencies",
    name="list_agencies",
    summary="The agency directory: filter by catalogue item, region, status or keyword",
    query=DirectoryQuery,
    response=Page[AgencySummary],
)
def directory(call: Call) -> Page[AgencySummary]:
    q: DirectoryQuery = call.query
    entries, cursor = service.directory(
        item_code=q.item_code,
        region=q.region,
        status=q.status.value if q.status else None,
        keyword=q.keyword,
        limit=q.limit,
        cursor=q.cursor,
    )
    return Page[AgencySummary](items=entries, cursor=cursor)


@route(
    bp,
    "/agencies/{agency_id}",
    name="get_agency",
    summary="An agency: record, commitments, certificates, branches, regions and status history "
    "(personal data only for the agency itself, the admin and the regulators of its industries)",
    optional_auth=True,
    response=AgencyPublic,
)
def get(call: Call) -> Any:
    agency = service.get_agency(call.params["agency_id"])
    if service.may_see_private(agency, call.principal):
        return agency
    return public_view(agency)
