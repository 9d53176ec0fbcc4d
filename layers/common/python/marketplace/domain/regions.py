"""Administrative divisions (行政区划代码): which service region covers which place.

A six-digit code names a province (`330000`), a city (`330100`) or a district (`330106`); a region
covers every place whose code starts with its own code stripped of trailing `00` pairs.
"""

from __future__ import annotations

DIVISION_PATTERN = r"^\d{6}$"


def stem(code: str) -> str:
    kept = code
    while kept.endswith("00") and len(kept) > 2:
        kept = kept[:-2]
    return kept


def covers(service_region: str, place: str) -> bool:
    """True when `service_region` is `place` or one of the divisions above it."""
    return place.startswith(stem(service_region))


def serves(service_regions: list[str], place: str) -> bool:
    return any(covers(region, place) for region in service_regions)
