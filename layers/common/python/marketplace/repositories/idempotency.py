"""Records of create-style requests by Idempotency-Key."""

from __future__ import annotations

from typing import Any

from marketplace.errors import Conflict
from marketplace.repositories.base import translated
from marketplace.repositories.tables import IdempotencyRow

IN_PROGRESS = "in_progress"
COMPLETED = "completed"


def claim(key: str, request_hash: str, expires_at: int, now: int) -> IdempotencyRow | None:
    """Claim the key for this request; None when claimed, else the record already there.

    An expired record is claimed over (TTL deletion is eventual, so expiry is checked here too)."""
    row = IdempotencyRow(key=key, request_hash=request_hash, state=IN_PROGRESS, expires_at=expires_at)
    try:
        with translated():
            row.save(condition=IdempotencyRow.key.does_not_exist() | (IdempotencyRow.expires_at < now))
        return None
    except Conflict:
        pass
    with translated():
        return IdempotencyRow.get(key, consistent_read=True)


def complete(key: str, response: dict[str, Any]) -> None:
    with translated():
        IdempotencyRow(key=key).update(
            actions=[IdempotencyRow.state.set(COMPLETED), IdempotencyRow.response.set(response)],
            condition=IdempotencyRow.state == IN_PROGRESS,
        )


def release(key: str) -> None:
    """Forget a claim whose request failed, so that a retry runs it again."""
    with translated():
        IdempotencyRow(key=key).delete(condition=IdempotencyRow.state == IN_PROGRESS)
