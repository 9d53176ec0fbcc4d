"""RFC 9457 problem documents, built from domain errors."""

from __future__ import annotations

from typing import Any

from marketplace.errors import DomainError

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://marketplace.example/problems/"


def problem(error: DomainError, *, instance: str, correlation_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + error.slug,
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "instance": instance,
        "correlation_id": correlation_id,
    }
    if error.errors:
        body["errors"] = [e.as_dict() for e in error.errors]
    body.update({k: v for k, v in error.extra.items() if k not in body})
    return body


def internal_problem(*, instance: str, correlation_id: str) -> dict[str, Any]:
    """What a caller sees of an unexpected failure: nothing internal, only the id to quote."""
    return {
        "type": PROBLEM_TYPE_BASE + "internal-error",
        "title": "Internal error",
        "status": 500,
        "detail": "The request failed unexpectedly. Quote the correlation id when reporting it.",
        "instance": instance,
        "correlation_id": correlation_id,
    }


def generic_problem(status: int, detail: str, *, instance: str, correlation_id: str) -> dict[str, Any]:
    titles = {
        400: "Malformed request",
        401: "Authentication required",
        403: "Not allowed",
        404: "Not found",
        405: "Method not allowed",
        409: "Conflict with the current state",
        413: "Request too large",
        415: "Unsupported media type",
        422: "The request is not valid",
        429: "Too many requests",
    }
    return {
        "type": "about:blank",
        "title": titles.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": instance,
        "correlation_id": correlation_id,
    }
