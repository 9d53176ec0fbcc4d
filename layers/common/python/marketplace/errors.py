"""Domain errors. Each carries the HTTP status a caller sees, chosen by type, never by message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One invalid field: where it is (a JSON pointer-like path) and why it was refused."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class DomainError(Exception):
    status = 500
    slug = "internal-error"
    title = "Internal error"

    def __init__(self, detail: str, *, errors: list[FieldError] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra


class BadRequest(DomainError):
    status = 400
    slug = "bad-request"
    title = "Malformed request"


class Unauthorized(DomainError):
    status = 401
    slug = "unauthorized"
    title = "Authentication required"


class Forbidden(DomainError):
    status = 403
    slug = "forbidden"
    title = "Not allowed"


class NotFound(DomainError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    slug = "conflict"
    title = "Conflict with the current state"


class ValidationFailed(DomainError):
    status = 422
    slug = "validation-failed"
    title = "The request is not valid"


class TooManyRequests(DomainError):
    status = 429
    slug = "too-many-requests"
    title = "Too many requests"


class ServiceUnavailable(DomainError):
    status = 503
    slug = "service-unavailable"
    title = "Temporarily unavailable"

    def __init__(self, detail: str, *, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class NotImplementedHere(DomainError):
    status = 501
    slug = "not-implemented-here"
    title = "Not available in this deployment"


def invalid(field: str, message: str) -> ValidationFailed:
    """A 422 naming one field, the most common refusal."""
    return ValidationFailed(f"{field}: {message}", errors=[FieldError(field, message)])
