"""What API Gateway answers itself (no token, throttled, unknown route, timeouts...), rendered as
RFC 9457 problem documents like the functions' own errors."""

from __future__ import annotations

import json

from infra.cfn import Json
from marketplace.problems import PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE

# response type -> (status, slug, title). Every type API Gateway defines, each with its documented
# status (MISSING_AUTHENTICATION_TOKEN, which it sends for an unknown route, is answered as 404),
# so that the body's `status` is the real one.
RESPONSES: dict[str, tuple[int, str, str]] = {
    "BAD_REQUEST_BODY": (400, "bad-request", "Malformed request"),
    "BAD_REQUEST_PARAMETERS": (400, "bad-request", "Malformed request"),
    "UNAUTHORIZED": (401, "unauthorized", "Authentication required"),
    "ACCESS_DENIED": (403, "forbidden", "Not allowed"),
    "EXPIRED_TOKEN": (403, "forbidden", "Not allowed"),
    "INVALID_API_KEY": (403, "forbidden", "Not allowed"),
    "INVALID_SIGNATURE": (403, "forbidden", "Not allowed"),
    "WAF_FILTERED": (403, "forbidden", "Not allowed"),
    "MISSING_AUTHENTICATION_TOKEN": (404, "not-found", "Not found"),
    "RESOURCE_NOT_FOUND": (404, "not-found", "Not found"),
    "REQUEST_TOO_LARGE": (413, "request-too-large", "Request too large"),
    "UNSUPPORTED_MEDIA_TYPE": (415, "unsupported-media-type", "Unsupported media type"),
    "QUOTA_EXCEEDED": (429, "too-many-requests", "Too many requests"),
    "THROTTLED": (429, "too-many-requests", "Too many requests"),
    "API_CONFIGURATION_ERROR": (500, "internal-error", "Internal error"),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, "internal-error", "Internal error"),
    "AUTHORIZER_FAILURE": (500, "internal-error", "Internal error"),
    "INTEGRATION_FAILURE": (504, "gateway-timeout", "The operation did not answer in time"),
    "INTEGRATION_TIMEOUT": (504, "gateway-timeout", "The operation did not answer in time"),
}
# The defaults catch response types API Gateway adds later; their status is not known here.
DEFAULTS: dict[str, tuple[str, str]] = {
    "DEFAULT_4XX": ("request-refused", "Request refused"),
    "DEFAULT_5XX": ("internal-error", "Internal error"),
}
EXTRA_HEADERS: dict[str, dict[str, str]] = {
    "UNAUTHORIZED": {"WWW-Authenticate": "'Bearer realm=\"marketplace\"'"},
    "THROTTLED": {"Retry-After": "'1'"},
    "QUOTA_EXCEEDED": {"Retry-After": "'60'"},
}


def _body(slug: str, title: str, status: int | None) -> str:
    # Gateway response templates substitute variables but are not VTL: the JSON is written out.
    # $context.error.messageString is already a quoted JSON string.
    fields = [
        f'"type":{json.dumps(PROBLEM_TYPE_BASE + slug)}',
        f'"title":{json.dumps(title)}',
        *([f'"status":{status}'] if status is not None else []),
        '"detail":$context.error.messageString',
        '"instance":"$context.path"',
        '"correlation_id":"$context.requestId"',
    ]
    return "{" + ",".join(fields) + "}"


def _response(slug: str, title: str, status: int | None, headers: dict[str, str]) -> Json:
    response: Json = {
        "ResponseParameters": {"Headers": {"Content-Type": f"'{PROBLEM_CONTENT_TYPE}'", **headers}},
        "ResponseTemplates": {"application/json": _body(slug, title, status)},
    }
    if status is not None:
        response["StatusCode"] = str(status)
    return response


def gateway_responses() -> dict[str, Json]:
    responses = {
        kind: _response(slug, title, status, EXTRA_HEADERS.get(kind, {}))
        for kind, (status, slug, title) in RESPONSES.items()
    }
    for kind, (slug, title) in DEFAULTS.items():
        responses[kind] = _response(slug, title, None, {})
    return responses
