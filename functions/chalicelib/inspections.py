"""Routes of random inspections (双随机、一公开, docs/inspections.md): a regulator's staff list, plans,
the draw's proof and the results. The plan, its commitment, the draw and the results are public."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from marketplace.domain.inspections import (
    CancelIn,
    Inspection,
    InspectionDrawProof,
    InspectionResult,
    PlanIn,
    ResultIn,
    Staff,
    StaffList,
)
from marketplace.services import inspections as service
from marketplace.web.http import Call, route
from marketplace.web.pages import Page, PageQuery

bp = Blueprint(__name__)


@route(
    bp,
    "/inspections/inspectors",
    "PUT",
    name="put_inspectors",
    summary="Replace the caller regulator's staff list of inspectors (执法人员名录), by staff code",
    roles=("regulator",),
    body=StaffList,
    response=Staff,
    description="Staff codes only (law-enforcement certificate numbers): never names, since the codes "
    "drawn are public. A plan freezes the list as it is at the plan's creation.",
)
def put_inspectors(call: Call) -> Staff:
    return service.put_staff(call.body, call.caller)


@route(
    bp,
    "/inspections/inspectors",
    name="get_inspectors",
    summary="The caller regulator's staff list of inspectors",
    roles=("regulator",),
    response=Staff,
)
def get_inspectors(call: Call) -> Staff:
    return service.get_staff(call.caller)


@route(
    bp,
    "/inspections",
    "POST",
    name="create_inspection",
    summary="Plan a random inspection (双随机抽查) for one of the caller regulator's industries",
    roles=("regulator",),
    body=PlanIn,
    response=Inspection,
    status=201,
    idempotent=True,
    description="Freezes the candidates (the agencies admitted in the industry, not suspended, and the "
    "caller's staff list) and publishes them with the commitment to the draw's secret seed; the draw "
    "runs at `draw_at` (a task every minute). 403 for another industry; 422 naming the field when "
    "the lists cannot satisfy the numbers or `draw_at` is not in the future.",
)
def create(call: Call) -> Inspection:
    return service.create(call.body, call.caller)


@route(
    bp,
    "/inspections",
    name="list_inspections",
    summary="Inspection plans, newest first, with their draws and results (public)",
    query=PageQuery,
    response=Page[Inspection],
)
def list_inspections(call: Call) -> Page[Inspection]:
    items, cursor = service.list_page(call.query.limit, call.query.cursor)
    return Page[Inspection](items=items, cursor=cursor)


@route(
    bp,
    "/inspections/{inspection_id}",
    name="get_inspection",
    summary="An inspection: plan, commitment, frozen candidates, drawn agencies and inspectors, results",
    response=Inspection,
)
def get_inspection(call: Call) -> Inspection:
    return service.get(call.params["inspection_id"])


@route(
    bp,
    "/inspections/{inspection_id}/draw",
    name="get_inspection_draw",
    summary="The inspection draw's proof (hmac-sha256-rank/v1, twice, one seed): recompute it",
    response=InspectionDrawProof,
    description="404 before the draw (the inspection itself shows the commitment). "
    "`python -m marketplace.verify_draw <this URL>` checks it against the plan "
    "(GET /inspections/{id}, published before the draw) and prints `valid`.",
)
def get_draw(call: Call) -> dict[str, Any]:
    return service.draw_proof(call.params["inspection_id"])


@route(
    bp,
    "/inspections/{inspection_id}/results",
    "POST",
    name="record_inspection_result",
    summary="Record a drawn agency's result: passed, or problems found with a deadline to correct",
    roles=("regulator",),
    body=ResultIn,
    response=InspectionResult,
    status=201,
    idempotent=True,
    description="A regulator of the inspection's industry; once per drawn agency (409 `reason: recorded` "
    "for another); the last result closes the inspection. `credit_event: true` with `credit_points` "
    "(negative) records a penalty in the agency's credit ledger (cause type `inspection`), in the "
    "same transaction.",
)
def record_result(call: Call) -> InspectionResult:
    return service.record_result(call.params["inspection_id"], call.body, call.caller)


@route(
    bp,
    "/inspections/{inspection_id}/cancellation",
    "POST",
    name="cancel_inspection",
    summary="Cancel a plan before its draw (a regulator of its industry)",
    roles=("regulator",),
    body=CancelIn,
    response=Inspection,
    description="409 once drawn: the draw is public and stands.",
)
def cancel(call: Call) -> Inspection:
    return service.cancel(call.params["inspection_id"], call.body, call.caller)
