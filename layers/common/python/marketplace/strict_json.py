"""JSON as this platform reads it from outside: a repeated key or a NaN/Infinity is refused, and so
is a number too large for a float (1e400 would be read as infinity, which has no JSON form).

Parsers disagree on a repeated key (some keep the first, Python the last), so one document could
show two readers two letters; every request body and the offline verifiers read JSON through here.
"""

from __future__ import annotations

import json
import math
from typing import Any


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # One pass with a set: comparing each key with every other took seconds on a large body.
    seen: set[str] = set()
    repeats: set[str] = set()
    for key, _ in pairs:
        (repeats if key in seen else seen).add(key)
    repeated = sorted(repeats)
    if repeated:
        raise ValueError(f"repeated keys: {', '.join(repeated)}")
    return dict(pairs)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large for a number this platform reads")
    return value


def loads(raw: bytes | str) -> Any:
    """Parse strictly; ValueError (or RecursionError for absurd nesting) when the input is not JSON."""
    return json.loads(
        raw, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant, parse_float=_finite
    )
