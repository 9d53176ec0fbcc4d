"""JSON as this platform reads it from outside: a repeated key or a NaN/Infinity is refused.

Parsers disagree on a repeated key (some keep the first, Python the last), so one document could
show two readers two letters; every request body and the offline verifiers read JSON through here.
"""

from __future__ import annotations

import json
from typing import Any


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise ValueError(f"repeated keys: {', '.join(repeated)}")
    return dict(pairs)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(raw: bytes | str) -> Any:
    """Parse strictly; ValueError (or RecursionError for absurd nesting) when the input is not JSON."""
    return json.loads(raw, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant)
