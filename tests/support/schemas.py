"""The domain events' JSON Schemas from events/schemas/."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


@cache
def validator(detail_type: str) -> Draft202012Validator:
    schema = json.loads((EVENTS_DIR / "schemas" / f"{detail_type}.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def check_event(event: dict[str, Any]) -> None:
    """Raise if an EventBridge event's detail does not match its type's schema."""
    validator(event["detail-type"]).validate(event["detail"])
