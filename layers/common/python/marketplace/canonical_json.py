"""Canonical JSON: the one byte form of a JSON value, wherever the platform needs one.

Letters sign it (docs/letters.md "Canonical bytes"), idempotency fingerprints hash it, and page
cursors encode it: object keys sorted by code point, no whitespace, non-ASCII kept as UTF-8 (no
`\\u` escapes), NaN and Infinity refused. A frozen format: the bytes of an issued letter must stay
what was signed, so any change here is a new letter format, not an edit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def canonical_json(value: Any, *, default: Callable[[Any], Any] | None = None) -> bytes:
    """The canonical UTF-8 bytes of `value`. ValueError when it has none (NaN, an unpaired
    surrogate), TypeError for a value JSON cannot hold unless `default` turns it into one."""
    text = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=default
    )
    return text.encode("utf-8")
