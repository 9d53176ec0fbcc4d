"""Running a use case again from a fresh read when another writer changed the record meanwhile."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from marketplace.errors import Conflict, ServiceUnavailable

T = TypeVar("T")
ATTEMPTS = 3  # two people (or a person and a task) acting at once: the loser reads again and retries


def with_retries(attempt: Callable[[], T], *, attempts: int = ATTEMPTS) -> T:
    """`attempt()`, again while its conditional write loses a race (Conflict) or the store is
    briefly busy; the last refusal stands, naming the state the record reached."""
    for remaining in range(attempts - 1, -1, -1):
        try:
            return attempt()
        except (Conflict, ServiceUnavailable):
            if not remaining:
                raise
    raise AssertionError("unreachable")
