"""Routes of enrollment (报名) and withdrawal (DOMAIN.md §4)."""

from __future__ import annotations

from chalice import Blueprint

from marketplace.domain.consortium import Membership
from marketplace.domain.consortium_requests import EnrollmentRequest, MembershipDecision
from marketplace.domain.purchases import Enrollment
from marketplace.services import consortium as consortia
from marketplace.services import enrollments as service
from marketplace.web.http import Call, route
from marketplace.web.pages import Page, PageQuery

bp = Blueprint(__name__)


@route(
    bp,
    "/purchases/{purchase_id}/enrollments",
    "POST",
    name="enroll",
    summary="Enroll the caller's agency in a published purchase before its deadline",
    roles=("agency",),
    body=EnrollmentRequest,
    body_optional=True,
    response=Enrollment,
    status=201,
    idempotent=True,
    description="No body (or `{}`) enrolls the agency alone. Where the purchase allows consortia "
    '(`consortium` in the announcement), `{"consortium": {"members": [{"agency_id": ..., "part": ...}], '
    '"lead_part": ...}}` enrolls it as the lead of a consortium (联合体, docs/consortium.md): 422 naming '
    "the field when the purchase does not allow consortia, for too many members, the lead listed as a "
    "member or a member listed twice; 403 naming each member that may not take part and why; 409 naming "
    "the agency (`agency_id`) when a member is already in another consortium (`reason: member_taken`) "
    "or has enrolled itself (`reason: member_enrolled`), or when the caller is a member of a consortium "
    "here (`reason: in_consortium`). "
    "Refused (403, with `reasons[]`) when the agency is not admitted for the item, lacks a "
    "required qualification, has the item suspended, is excluded, expelled, blacklisted or at credit level "
    "D; 409 when the window has closed (`reason: late`, whether or not closing has run yet), the purchase "
    "is a direct selection with no enrollment (`reason: direct`), is suspended by a challenge (`reason: "
    "suspended`) or the agency has already enrolled "
    "(`reason: duplicate`).",
)
def enroll(call: Call) -> Enrollment:
    return service.enroll(call.params["purchase_id"], call.caller, call.body)


@route(
    bp,
    "/purchases/{purchase_id}/enrollments/{agency_id}",
    "DELETE",
    name="withdraw_enrollment",
    summary="Withdraw the caller's enrollment before the deadline",
    roles=("agency",),
    response=Enrollment,
)
def withdraw(call: Call) -> Enrollment:
    return service.withdraw(call.params["purchase_id"], call.params["agency_id"], call.caller)


@route(
    bp,
    "/purchases/{purchase_id}/enrollments/{agency_id}",
    name="get_enrollment",
    summary="The caller's own enrollment in a purchase",
    roles=("agency",),
    response=Enrollment,
)
def get(call: Call) -> Enrollment:
    return service.own_enrollment(call.params["purchase_id"], call.params["agency_id"], call.caller)


@route(
    bp,
    "/purchases/{purchase_id}/enrollments",
    name="list_enrollments",
    summary="A purchase's enrollments and whether each counted (the owner once enrollment closed; the admin)",
    roles=("owner", "admin"),
    response=Page[Enrollment],
)
def list_for_purchase(call: Call) -> Page[Enrollment]:
    return Page[Enrollment](
        items=service.list_for_purchase(call.params["purchase_id"], call.caller), cursor=None
    )


@route(
    bp,
    "/me/enrollments",
    name="list_my_enrollments",
    summary="The caller agency's enrollments",
    roles=("agency",),
    query=PageQuery,
    response=Page[Enrollment],
)
def mine(call: Call) -> Page[Enrollment]:
    q: PageQuery = call.query
    items, cursor = service.list_for_agency(call.caller, q.limit, q.cursor)
    return Page[Enrollment](items=items, cursor=cursor)


@route(
    bp,
    "/purchases/{purchase_id}/enrollments/{lead_id}/membership",
    "POST",
    name="answer_membership",
    summary="A member agency accepts or declines its part in a lead's consortium, before the deadline",
    roles=("agency",),
    body=MembershipDecision,
    response=Membership,
    description="By the member's users. A consortium whose members have not all accepted when enrollment "
    "closes does not count (docs/consortium.md). A decline frees the member. 404 when the caller is not a "
    "member of that lead's consortium; 409 naming the state for an answer its state does not allow, or "
    "after the deadline (`reason: late`).",
)
def answer_membership(call: Call) -> Membership:
    return consortia.decide(call.params["purchase_id"], call.params["lead_id"], call.body, call.caller)


@route(
    bp,
    "/purchases/{purchase_id}/enrollments/{lead_id}/membership",
    name="get_membership",
    summary="The caller agency's place (part and answer) in a lead's consortium",
    roles=("agency",),
    response=Membership,
)
def get_membership(call: Call) -> Membership:
    return consortia.own_membership(call.params["purchase_id"], call.params["lead_id"], call.caller)
