"""Time, behind one seam so tests and the local stack can move it.

All instants are timezone-aware UTC and serialise as ISO-8601 with a trailing `Z`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stays where it is put; `advance` moves it."""

    def __init__(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)


_clock: Clock = SystemClock()


def get_clock() -> Clock:
    return _clock


def use_clock(clock: Clock) -> None:
    global _clock
    _clock = clock


def utcnow() -> datetime:
    return _clock.now()


def local_today() -> date:
    """Today in the region's time zone: certificate dates and deadlines are local dates."""
    from zoneinfo import ZoneInfo

    from marketplace.settings import get_settings

    return _clock.now().astimezone(ZoneInfo(get_settings().timezone)).date()


def iso(at: datetime) -> str:
    """UTC ISO-8601 with `Z`, second precision or finer as given."""
    text = at.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def stamp(at: datetime) -> str:
    """Instants kept to the second, UTC: one fixed width, so that stored strings compare in time
    order (in conditions and index ranges) and Step Functions' Wait accepts them."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a timezone (end in Z)")
    return value.astimezone(UTC)
