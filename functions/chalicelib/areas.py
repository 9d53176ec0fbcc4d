"""The API's areas, and which of them this process loads.

Every deployed function runs the same code but serves one operation: its environment names its
area (`MARKETPLACE_AREA`, set by the infra build), and only that area's module, models and use
cases are imported. Locally, in tests and when packaging, every area is loaded. As areas are
added, a function's cold start stays the cost of its own area (BENCHMARKS.md).
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

AREAS = (
    "platform",
    "catalogue",
    "owners",
    "calendars",
    "agencies",
    "agency_users",
    "tasks",
    "outbox",
    "letters",
    "notifications",
    "purchases",
    "enrollments",
    "bidding",
    "results",
    "windows",
    "credit",
    "credit_tasks",
    "credit_actions",
    "blacklist",
    "contracts",
    "contract_deadlines",
    "performance",
    "challenges",
    "challenge_deadlines",
    "proposals",
    "shelf",
    # ocds (issue 12): the feed, its consumer and the export; the record route loads ocdsmerge.
    "ocds",
    "ocds_records",
    "statistics",  # statistics (issue 12)
    "red_flags",  # issue 12 red-flags
    # Random inspections (issue 12, stream inspections): the routes, then the draw task.
    "inspections",
    "inspection_draws",
)
AREA_VARIABLE = "MARKETPLACE_AREA"


def selected() -> tuple[str, ...]:
    chosen = os.environ.get(AREA_VARIABLE, "").strip()
    if not chosen:
        return AREAS
    if chosen not in AREAS:
        raise RuntimeError(f"{AREA_VARIABLE}={chosen!r} is not one of {', '.join(AREAS)}")
    return (chosen,)


def load(names: tuple[str, ...] = AREAS) -> list[ModuleType]:
    return [importlib.import_module(f"chalicelib.{name}") for name in names]
