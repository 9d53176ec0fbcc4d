"""Routes about the platform itself: health, the caller, the API document."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from marketplace.clock import iso, utcnow
from marketplace.domain.model import Model
from marketplace.settings import get_settings
from marketplace.web.http import SIGNED_IN, Call, route

bp = Blueprint(__name__)


class Health(Model):
    status: str
    stage: str
    time: str


class Me(Model):
    subject: str
    role: str
    org_id: str
    industries: list[str]
    name: str


@route(bp, "/health", name="health", summary="Liveness of the API", response=Health)
def health(call: Call) -> Health:
    return Health(status="ok", stage=get_settings().stage, time=iso(utcnow()))


@route(bp, "/me", name="me", summary="Who the token says the caller is", roles=SIGNED_IN, response=Me)
def me(call: Call) -> dict[str, Any]:
    return call.caller.as_dict()


@route(bp, "/openapi.json", name="openapi", summary="This API as an OpenAPI 3.1 document")
def openapi(call: Call) -> dict[str, Any]:
    from chalicelib import areas
    from marketplace.web.openapi import document

    areas.load()  # a deployed function loads only its own area; the document covers them all
    return document()
