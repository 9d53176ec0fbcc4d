"""The OCDS record of one purchase (docs/ocds.md): every release and the compiled release, merged
by ocdsmerge. The only module that imports ocdsmerge, and only when a record is compiled: it ships
in the open-data layer, which only the functions named in infra/definitions.py
OPEN_DATA_FUNCTIONS load (the common layer's import check walks every module of this package
without it)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from marketplace.domain import ocds as domain
from marketplace.services import ocds

RELEASE_SCHEMA = Path(__file__).resolve().parent.parent / "data" / "ocds" / "release-schema.json"


@lru_cache(maxsize=1)
def merger() -> Any:
    """An ocdsmerge Merger given the local release schema: it never fetches the standard's."""
    import ocdsmerge

    return ocdsmerge.Merger(schema=json.loads(RELEASE_SCHEMA.read_text(encoding="utf-8")))


def compile_releases(releases: list[dict[str, Any]]) -> dict[str, Any]:
    compiled: dict[str, Any] = merger().create_compiled_release(releases)
    return compiled


def record(ocid: str, *, uri: str) -> dict[str, Any]:
    stored = ocds.releases_of(ocid)
    releases = [s.release for s in stored]
    return domain.record_package(
        releases,
        compile_releases(releases),
        uri=uri,
        published_date=stored[-1].published_at,
        publisher=ocds.PUBLISHER,
    )
