"""Routes of an agency's users: its administrator adds and removes staff."""

from __future__ import annotations

from chalice import Blueprint

from marketplace.domain.agencies import Member, NewMember
from marketplace.services import agency_users as service
from marketplace.web.http import Call, route

bp = Blueprint(__name__)


@route(
    bp,
    "/agencies/{agency_id}/users",
    name="list_agency_users",
    summary="The users who act for an agency (its administrators and the admin)",
    roles=("agency", "admin"),
    response=list[Member],
)
def list_users(call: Call) -> list[Member]:
    return service.list_users(call.params["agency_id"], call.caller)


@route(
    bp,
    "/agencies/{agency_id}/users",
    "POST",
    name="add_agency_user",
    summary="Add a staff user who acts for the agency (an invitation is sent)",
    roles=("agency",),
    body=NewMember,
    response=Member,
    status=201,
    idempotent=True,
)
def add_user(call: Call) -> Member:
    return service.add_user(call.params["agency_id"], call.body, call.caller)


@route(
    bp,
    "/agencies/{agency_id}/users/{username}",
    "DELETE",
    name="remove_agency_user",
    summary="Remove a staff user: signed out everywhere and deleted",
    roles=("agency",),
    status=204,
)
def remove_user(call: Call) -> None:
    service.remove_user(call.params["agency_id"], call.params["username"], call.caller)
