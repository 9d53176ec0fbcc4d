"""What every route shares: one decorator that declares a route (who may call it, what it takes
and returns) and wraps its handler with correlation ids, authentication, validation,
idempotency and problem+json errors. The declarations also feed the OpenAPI document and the
per-operation infrastructure build."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalice import Blueprint, Chalice, Response
from pydantic import BaseModel, ValidationError

from marketplace import auth, strict_json
from marketplace.auth import Principal
from marketplace.errors import BadRequest, DomainError, FieldError, ServiceUnavailable, ValidationFailed
from marketplace.observability import correlation_id
from marketplace.problems import PROBLEM_CONTENT_TYPE, internal_problem, problem

PUBLIC: tuple[str, ...] = ()
JSON = "application/json"
SIGNED_IN: tuple[str, ...] = ("admin", "regulator", "owner", "agency")
MAX_BODY_BYTES = 256 * 1024
# No identifier here comes near it; DynamoDB refuses key values over 2,048 bytes with an error
# that would otherwise surface as a 500.
MAX_PATH_PARAMETER = 200
logger = logging.getLogger("marketplace.http")


@dataclass(frozen=True)
class RouteSpec:
    """A route as the rest of the system sees it: OpenAPI, infra build and tests read these."""

    name: str
    path: str
    method: str
    summary: str
    tag: str
    roles: tuple[str, ...]
    optional_auth: bool = False
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    status: int = 200
    idempotent: bool = False
    description: str = ""
    content_type: str = JSON  # anything else: the handler returns the body as text
    body_optional: bool = False  # an empty request body is accepted (the handler gets None)
    # Other representations of a JSON route's answer, chosen by the Accept header (statistics: CSV);
    # the handler returns a `TextBody` for them.
    alternates: tuple[str, ...] = ()
    # When a route answering `status` may also answer 204 No Content (its handler returns
    # `(204, None)`): what that means, for OpenAPI. Empty: it never does.
    no_content: str = ""

    @property
    def public(self) -> bool:
        return not self.roles


ROUTES: list[RouteSpec] = []


@dataclass(frozen=True)
class TextBody:
    """A JSON route's answer in one of its `alternates` (the content type the caller accepted)."""

    content_type: str
    text: str


@dataclass
class Call:
    """One parsed, authenticated request, handed to a route's handler."""

    spec: RouteSpec
    principal: Principal | None
    params: dict[str, str]
    body: Any = None
    query: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def caller(self) -> Principal:
        if self.principal is None:  # routes with roles never reach the handler without one
            raise RuntimeError("no principal on an authenticated route")
        return self.principal


Handler = Callable[[Call], Any]


def route(
    bp: Blueprint,
    path: str,
    method: str = "GET",
    *,
    name: str,
    summary: str,
    roles: tuple[str, ...] = PUBLIC,
    optional_auth: bool = False,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: Any = None,
    status: int = 200,
    idempotent: bool = False,
    description: str = "",
    content_type: str = JSON,
    body_optional: bool = False,
    alternates: tuple[str, ...] = (),
    no_content: str = "",
) -> Callable[[Handler], Handler]:
    """Declare a route. `roles` empty means public; `optional_auth` reads a token when one is sent.
    A `content_type` other than JSON (a page, say) makes the handler's return value the body, as text."""
    spec = RouteSpec(
        name=name,
        path=path,
        method=method.upper(),
        summary=summary,
        tag=bp.__dict__.get("_import_name", "api").rsplit(".", 1)[-1],
        roles=roles,
        optional_auth=optional_auth,
        body=body,
        query=query,
        response=response,
        status=status,
        idempotent=idempotent,
        description=description,
        content_type=content_type,
        body_optional=body_optional,
        alternates=alternates,
        no_content=no_content,
    )
    if idempotent and content_type != JSON:
        raise ValueError(f"route {name!r}: only JSON routes store idempotent replies")
    if any(r.name == name for r in ROUTES):
        raise ValueError(f"route name {name!r} is declared twice")

    def decorate(handler: Handler) -> Handler:
        ROUTES.append(spec)

        def view(**params: str) -> Response:
            return _serve(bp, spec, handler, params)

        view.__name__ = name
        bp.route(path, methods=[spec.method], content_types=["application/json"])(view)
        return handler

    return decorate


def _serve(bp: Blueprint, spec: RouteSpec, handler: Handler, params: dict[str, str]) -> Response:
    request = bp.current_request
    headers = {k.lower(): v for k, v in (request.headers or {}).items()}
    context = request.context or {}
    cid = headers.get("x-correlation-id") or context.get("requestId") or str(uuid.uuid4())
    token = correlation_id.set(cid)
    instance = requested_path(request) or spec.path
    try:
        call = _parse(spec, request, headers, params)
        if spec.idempotent and headers.get("idempotency-key"):
            from marketplace.services.idempotency import run_once

            status, payload = run_once(
                caller=call.caller.subject,
                operation=spec.name,
                key=headers["idempotency-key"],
                request={"params": params, "body": _raw_json(call.body)},
                action=lambda: _invoke(spec, handler, call),
            )
        else:
            status, payload = _invoke(spec, handler, call)
        if isinstance(payload, TextBody):
            reply = _text(status, payload.text, cid, payload.content_type)
        elif spec.content_type != JSON:
            reply = _text(status, payload, cid, spec.content_type)
        else:
            reply = _json(status, payload, cid)
        if spec.alternates:  # the same URL answers in more than one type: caches must keep both
            reply.headers["Vary"] = "Accept"
        return reply
    except DomainError as error:
        return _problem(error, instance, cid)
    except Exception:
        logger.exception("unhandled error in %s", spec.name)
        return _response(
            500, internal_problem(instance=instance, correlation_id=cid), cid, PROBLEM_CONTENT_TYPE
        )
    finally:
        correlation_id.reset(token)


def _invoke(spec: RouteSpec, handler: Handler, call: Call) -> tuple[int, Any]:
    result = handler(call)
    if isinstance(result, tuple):
        return result[0], _dump(result[1])
    return spec.status, _dump(result)


def _parse(spec: RouteSpec, request: Any, headers: dict[str, str], params: dict[str, str]) -> Call:
    principal = _authenticate(spec, headers.get("authorization"))
    for name, value in params.items():
        if len(value) > MAX_PATH_PARAMETER:
            raise BadRequest(f"path parameter {name} is longer than {MAX_PATH_PARAMETER} characters")
    body = None
    if spec.body is not None and not (spec.body_optional and not (request.raw_body or b"").strip()):
        body = _validate(spec.body, _json_body(request), "body")
    query = None
    if spec.query is not None:
        query = _validate(spec.query, dict(request.query_params or {}), "query")
    elif request.query_params:
        # Silently ignoring `?limit=` on a list that does not page would mislead the caller.
        unknown = [FieldError(name, "not a parameter of this route") for name in sorted(request.query_params)]
        raise ValidationFailed(
            f"unknown query parameters: {', '.join(e.field for e in unknown)}", errors=unknown
        )
    return Call(spec=spec, principal=principal, params=params, body=body, query=query, headers=headers)


def _authenticate(spec: RouteSpec, authorization: str | None) -> Principal | None:
    if spec.public and not spec.optional_auth:
        return None
    token = auth.bearer_token(authorization)
    principal = auth.verify_token(token) if token else None
    if spec.public:
        return principal
    return auth.require_role(principal, spec.roles)


def _json_body(request: Any) -> Any:
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest(f"request body exceeds {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        raise BadRequest("a JSON request body is required")
    try:
        return strict_json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise BadRequest("request body is nested too deeply") from exc


def _validate(model: type[BaseModel], data: Any, where: str) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            FieldError(_field(data, err["loc"]) or where, err["msg"]) for err in exc.errors(include_url=False)
        ]
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        raise ValidationFailed(f"invalid {where}: {summary}", errors=errors) from exc


def _field(data: Any, loc: tuple[int | str, ...]) -> str:
    """The field as the client wrote it. pydantic's location also names the union member it tried
    (`qualification.any_of.requirements...`): parts that are not keys or indexes of the input are
    such tags and are left out, but for a last part, which names a missing field."""
    parts: list[str] = []
    current = data
    for position, part in enumerate(loc):
        found, child = _child(current, part)
        if found:
            current = child
        elif position < len(loc) - 1:
            continue
        parts.append(str(part))
    return ".".join(parts)


def _child(value: Any, part: int | str) -> tuple[bool, Any]:
    if isinstance(value, dict) and part in value:
        return True, value[part]
    if isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
        return True, value[part]
    return False, None


def requested_path(request: Any) -> str:
    """The path the client asked for (Chalice's `request.path` is the route's template). API
    Gateway's event has it at the top (its requestContext's has the stage in front); Chalice's
    local server only in the requestContext."""
    event = (request.to_original_event() or {}) if request is not None else {}
    path = event.get("path") or (event.get("requestContext") or {}).get("path")
    return path if isinstance(path, str) else ""


def _raw_json(value: Any) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


def _dump(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=False)
    if isinstance(value, list):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    return value


def _json(status: int, payload: Any, cid: str) -> Response:
    if status == 204:
        return Response(body="", status_code=204, headers={"X-Correlation-Id": cid})
    return _response(status, payload, cid, "application/json")


def _text(status: int, body: Any, cid: str, content_type: str) -> Response:
    """A non-JSON reply. Its content is built from stored data, so the browser is told not to guess
    its type and, for a page, to run and load nothing (the page is self-contained)."""
    if not isinstance(body, str):
        raise TypeError(f"a {content_type} route returns its body as text, got {type(body).__name__}")
    headers: dict[str, str | list[str]] = {
        "Content-Type": content_type,
        "X-Correlation-Id": cid,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    }
    return Response(body=body, status_code=status, headers=headers)


def _response(status: int, payload: Any, cid: str, content_type: str, **extra: str) -> Response:
    headers: dict[str, str | list[str]] = {"Content-Type": content_type, "X-Correlation-Id": cid, **extra}
    return Response(body=json.dumps(payload, ensure_ascii=False), status_code=status, headers=headers)


def _problem(error: DomainError, instance: str, cid: str) -> Response:
    extra = {}
    if isinstance(error, ServiceUnavailable):
        extra["Retry-After"] = str(error.retry_after)
    if error.status == 401:
        extra["WWW-Authenticate"] = 'Bearer realm="marketplace"'
    body = problem(error, instance=instance, correlation_id=cid)
    return _response(error.status, body, cid, PROBLEM_CONTENT_TYPE, **extra)


def route_for(name: str) -> RouteSpec:
    return next(r for r in ROUTES if r.name == name)


class Marketplace(Chalice):
    """Chalice keeps the request being served on the app object. A Lambda environment serves one
    request at a time, but Chalice's local server serves several on threads, and they must not
    read each other's requests: keep the current request per thread."""

    _serving = threading.local()

    @property
    def current_request(self) -> Any:
        return getattr(self._serving, "request", None)

    @current_request.setter
    def current_request(self, request: Any) -> None:
        self._serving.request = request
