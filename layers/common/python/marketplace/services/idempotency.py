"""`Idempotency-Key` on create-style POSTs: the same key from the same caller returns the first
response; the same key with a different request is refused (422)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from marketplace.canonical_json import canonical_json
from marketplace.clock import utcnow
from marketplace.errors import Conflict, invalid
from marketplace.repositories import idempotency as repo
from marketplace.settings import get_settings

MAX_KEY_LENGTH = 128


def _fingerprint(request: Any) -> str:
    return hashlib.sha256(canonical_json(request, default=str)).hexdigest()


def run_once(
    *, caller: str, operation: str, key: str, request: Any, action: Callable[[], tuple[int, Any]]
) -> tuple[int, Any]:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise invalid("Idempotency-Key", f"must be 1-{MAX_KEY_LENGTH} printable characters")
    record_key = f"{caller}|{operation}|{key}"
    fingerprint = _fingerprint(request)
    now = int(utcnow().timestamp())
    expires_at = now + get_settings().idempotency_ttl_hours * 3600
    existing = repo.claim(record_key, fingerprint, expires_at, now)
    if existing is not None:
        if existing.request_hash != fingerprint:
            raise invalid("Idempotency-Key", "already used with a different request; use a new key")
        if existing.state == repo.COMPLETED and existing.response is not None:
            return int(existing.response["status"]), existing.response["body"]
        raise Conflict("a request with this Idempotency-Key is still being processed; retry shortly")
    try:
        status, body = action()
    except Exception:
        # Failed requests are not remembered: the caller may correct and retry with the same key.
        repo.release(record_key)
        raise
    repo.complete(record_key, {"status": status, "body": body})
    return status, body
