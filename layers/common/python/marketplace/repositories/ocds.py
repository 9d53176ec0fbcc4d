"""OCDS releases in the `ocds` table (docs/ocds.md): appended, never changed. A partition per ocid
holds its releases; the `by-published` index lists every release in the order it was published,
for `GET /ocds/releases` and the daily export."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marketplace.errors import Conflict, NotFound
from marketplace.repositories.base import decode_cursor, encode_cursor, translated
from marketplace.repositories.tables import OcdsReleaseRow

FEED = "releases"
FEED_KEYS = {"ocid", "release_id", "feed", "published"}


@dataclass(frozen=True)
class StoredRelease:
    release: dict[str, Any]
    published_at: str


def exists(ocid: str, release_id: str) -> bool:
    try:
        with translated():
            OcdsReleaseRow.get(ocid, release_id, attributes_to_get=["ocid"])
    except NotFound:
        return False
    return True


def append(release: dict[str, Any], *, published_at: str) -> bool:
    """Store the release unless its id is there already (a redelivered event): True when added."""
    row = OcdsReleaseRow(
        ocid=release["ocid"],
        release_id=release["id"],
        feed=FEED,
        published=f"{published_at}#{release['id']}",
        release=release,
    )
    try:
        with translated():
            row.save(condition=OcdsReleaseRow.release_id.does_not_exist())
    except Conflict:
        return False
    return True


def of_ocid(ocid: str) -> list[StoredRelease]:
    """Every release of one ocid, oldest first (one Query; a purchase has a few dozen)."""
    with translated():
        rows = list(OcdsReleaseRow.query(ocid))
    return sorted((_stored(r) for r in rows), key=lambda s: (s.published_at, s.release["id"]))


def published_page(
    *, after: str | None, before: str | None, limit: int, cursor: str | None
) -> tuple[list[StoredRelease], str | None]:
    """One Query of the index, oldest first: releases published at or after `after` and before
    `before` (UTC instants), resuming at `cursor`; the cursor is null on the last page."""
    index = OcdsReleaseRow.by_published
    condition: Any = None
    if after is not None and before is not None:
        condition = OcdsReleaseRow.published.between(after, before)
    elif after is not None:
        condition = OcdsReleaseRow.published >= after
    elif before is not None:
        condition = OcdsReleaseRow.published < before
    with translated():
        rows = list(
            index.query(
                FEED,
                condition,
                limit=limit + 1,
                page_size=limit + 1,
                last_evaluated_key=decode_cursor(cursor, FEED_KEYS),
            )
        )
    # One row more than the page is read, so the last page carries no cursor (an empty page
    # would be no valid release package).
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(_key(rows[-1])) if more and rows else None
    return [_stored(r) for r in rows], next_cursor


def _key(row: OcdsReleaseRow) -> dict[str, Any]:
    return {
        "ocid": {"S": row.ocid},
        "release_id": {"S": row.release_id},
        "feed": {"S": row.feed},
        "published": {"S": row.published},
    }


def _stored(row: OcdsReleaseRow) -> StoredRelease:
    return StoredRelease(release=dict(row.release), published_at=row.published.split("#", 1)[0])
