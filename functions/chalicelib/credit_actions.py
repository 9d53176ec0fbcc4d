"""Routes of what people do with credit (DOMAIN.md §9): a regulator's events, imports of external
credit records, and credit repair (appeals). The ledger, the profile and the rules are
chalicelib/credit.py's."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from marketplace.domain.credit import CreditEvent
from marketplace.domain.credit_actions import ImportBatch, ImportReport, RegulatorEventIn
from marketplace.domain.credit_appeals import Appeal, AppealDecisionIn, AppealIn
from marketplace.services import credit_actions as service
from marketplace.services import credit_appeals as appeals
from marketplace.web.http import Call, route

bp = Blueprint(__name__)


@route(
    bp,
    "/agencies/{agency_id}/credit/events",
    "POST",
    name="record_credit_event",
    summary="Record a reward, a penalty or serious dishonesty (严重失信) in the agency's credit ledger",
    roles=("regulator", "admin"),
    body=RegulatorEventIn,
    response=CreditEvent,
    status=201,
    idempotent=True,
    description="A regulator records events only for agencies offering (or applying to offer) items of "
    "its industries (403 otherwise); the admin for any. Points are positive for a reward, negative "
    "otherwise, at most the credit rules' `max_event_points`; serious dishonesty may leave them out "
    "(the rules' points) and blacklists the agency for the rules' period: every item it offers is "
    "expelled until then. The event's id derives from the caller's organisation, the decision number "
    "and the agency: the same decision again records nothing and answers 200 with the event recorded.",
)
def record_event(call: Call) -> Any:
    new, recorded = service.record_regulator_event(call.params["agency_id"], call.body, call.caller)
    return (201 if new else 200), recorded


@route(
    bp,
    "/credit/imports",
    "POST",
    name="import_credit_records",
    summary="Import a batch of an external credit system's records (信用中国, the provincial system)",
    roles=("admin",),
    body=ImportBatch,
    response=ImportReport,
    idempotent=True,
    description="The format is docs/credit-imports.md. The whole batch is validated first: any invalid "
    "field refuses it (422, every field named as `records.<n>.<field>`) and nothing is recorded. Each "
    "record is then recorded once, by (source, source_id): the report says, per record, `recorded`, "
    "`already_recorded` (sent before) or `unknown_agency` (no agency of the marketplace has the credit "
    "code: reported, not recorded; sending the batch again once the agency is admitted records it).",
)
def import_records(call: Call) -> ImportReport:
    return service.import_batch(call.body, call.caller)


@route(
    bp,
    "/credit/events/{event_id}/appeal",
    "POST",
    name="appeal_credit_event",
    summary="Appeal an event of the caller agency's own credit ledger (信用修复), with reasons",
    roles=("agency",),
    body=AppealIn,
    response=Appeal,
    status=201,
    idempotent=True,
    description="One appeal per event (409 for another); 404 when the caller's ledger has no such "
    "event. The admin decides it; the appeal and the decision are public on the credit profile.",
)
def appeal(call: Call) -> Appeal:
    return appeals.file(call.params["event_id"], call.body, call.caller)


@route(
    bp,
    "/credit/events/{event_id}/appeal",
    name="get_credit_appeal",
    summary="The appeal of a credit event and its decision (public)",
    response=Appeal,
)
def get_appeal(call: Call) -> Appeal:
    return appeals.get(call.params["event_id"])


@route(
    bp,
    "/credit/events/{event_id}/appeal/decision",
    "POST",
    name="decide_credit_appeal",
    summary="Decide a credit appeal (admin): uphold the event, or revoke it with a compensating event",
    roles=("admin",),
    body=AppealDecisionIn,
    response=Appeal,
    description="`revoke` records a `revocation` event of the negated points naming the event "
    "(`revokes`); the event itself is never edited. A revoked finding of serious dishonesty lifts the "
    "blacklist. 409 when the appeal is decided already.",
)
def decide(call: Call) -> Appeal:
    return appeals.decide(call.params["event_id"], call.body, call.caller)
