"""Use cases of the OCDS open data (docs/ocds.md): append a release when an event changes a
purchase's public state, page the releases, export a day of them to the open-data bucket.

The record route compiles releases with ocdsmerge: that is `services.ocds_records`, the one module
that imports it (only the functions named in infra/definitions.py OPEN_DATA_FUNCTIONS load the
open-data layer it ships in).
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from marketplace.clock import iso, local_today, parse_iso, stamp, utcnow
from marketplace.domain import ocds as domain
from marketplace.domain.purchases import PUBLIC_STATUSES, public_view
from marketplace.errors import NotFound
from marketplace.repositories import ocds as repo
from marketplace.repositories import open_data
from marketplace.services.queued_events import MalformedMessage, event_detail, handle_batch
from marketplace.settings import get_settings

logger = logging.getLogger("marketplace.ocds")
PUBLISHER = "网上中介服务超市 (online intermediary services marketplace)"
EXPORT_PREFIX = "ocds/releases/"
JSON_LINES = "application/x-ndjson"


def package_uri(headers: dict[str, str], path: str, query: dict[str, str]) -> str:
    """The absolute URI of a package, from the host the client called."""
    from urllib.parse import urlencode

    host = headers.get("host", "localhost")
    scheme = headers.get("x-forwarded-proto", "https")
    return f"{scheme}://{host}{path}" + (f"?{urlencode(query)}" if query else "")


def consume(records: list[dict[str, Any]]) -> dict[str, list[dict[str, str]]]:
    """Append the release of each queued event (SQS records): the SQS answer. A redelivered event
    finds its release stored and appends nothing."""
    return handle_batch(records, append, logger=logger, done="OCDS release")


def append(message_body: str) -> bool:
    """Append the release one queued event makes: True when one was added; False for an event
    that changes no public state, a purchase not public, or a redelivery (the release is there)."""
    detail = event_detail(message_body)
    event_type = str(detail.get("event_type", ""))
    purchase_id = detail["data"].get("purchase_id")
    if event_type not in domain.RELEASE_TAGS or not isinstance(purchase_id, str):
        return False
    trigger = domain.Trigger(event_id=str(detail.get("event_id", "")), event_type=event_type)
    if not trigger.event_id:
        raise MalformedMessage("the event has no event_id")
    occurred_at = _occurred_at(detail)
    prefix = get_settings().ocid_prefix
    ocid = domain.ocid(prefix, purchase_id)
    if repo.exists(ocid, domain.release_id(trigger)):
        return False
    # The release is dated by its event (when the change happened); the feed is ordered by when
    # the release was published (appended), so that a delayed message is not slipped in behind
    # pages clients already read with `since`.
    release = build(purchase_id, trigger, date=occurred_at)
    if release is None:
        return False
    return repo.append(release, published_at=stamp(utcnow()))


def _occurred_at(detail: dict[str, Any]) -> str:
    """The event's `occurred_at` as a UTC date-time (`Z`), to the precision the event gives."""
    try:
        return iso(parse_iso(str(detail.get("occurred_at", ""))))
    except ValueError as exc:
        raise MalformedMessage("the event has no valid occurred_at") from exc


def build(purchase_id: str, trigger: domain.Trigger, *, date: str) -> dict[str, Any] | None:
    """The release of the purchase's public state now; None while it is not public."""
    from marketplace.repositories import purchases

    purchase = purchases.get(purchase_id, consistent=True)
    if purchase.status not in PUBLIC_STATUSES or purchase.published_at is None:
        return None
    view = public_view(purchase)
    organisations = _organisations(view.owner_id, domain.organisations_named(view))
    return domain.build_release(view, organisations, trigger, prefix=get_settings().ocid_prefix, date=date)


def _organisations(owner_id: str, agency_ids: list[str]) -> dict[str, domain.Organisation]:
    """The public names and credit codes of the owner and the agencies (one GetItem, one
    BatchGetItem); an organisation not found is named by its id alone, an owner who is a natural
    person by its role alone."""
    from marketplace.domain.owners import OwnerType
    from marketplace.repositories import agencies, owners

    found: dict[str, domain.Organisation] = {}
    try:
        owner = owners.get(owner_id)
    except NotFound:
        owner = None
    if owner is not None and owner.owner_type == OwnerType.person:
        # A natural person's name and ID number are personal data: the buyer is named by its role.
        found[owner_id] = domain.Organisation(owner_id, domain.PERSON_BUYER, None)
    elif owner is not None:
        found[owner_id] = domain.Organisation(owner_id, owner.name, owner.credit_code)
    if agency_ids:
        for agency_id, agency in agencies.profiles(agency_ids).items():
            found[agency_id] = domain.Organisation(agency_id, agency.name, agency.credit_code)
    return found


def releases_page(
    *, since: datetime | None, limit: int, cursor: str | None, uri: str
) -> tuple[dict[str, Any] | None, str | None]:
    """A release package of the releases published since `since`, oldest first, and the cursor
    that resumes after it (None on the last page). None when there is no release to list: a
    package must hold at least one (the release package schema's `minItems: 1`), so the route
    answers 204 No Content rather than an invalid package."""
    after = stamp(since) if since is not None else None
    stored, next_cursor = repo.published_page(after=after, before=None, limit=limit, cursor=cursor)
    if not stored:
        return None, None
    package = domain.release_package(
        [s.release for s in stored], uri=uri, published_date=stored[-1].published_at, publisher=PUBLISHER
    )
    return package, next_cursor


def releases_of(ocid: str) -> list[repo.StoredRelease]:
    """Every release of an ocid of this publisher: 404 for none; `MalformedOcid` for another shape."""
    domain.purchase_of(get_settings().ocid_prefix, ocid)
    stored = repo.of_ocid(ocid)
    if not stored:
        raise NotFound(f"no OCDS release of {ocid}")
    return stored


def export_day(day: date | None = None) -> dict[str, Any]:
    """Write one local day's releases (the previous day by default) as JSON lines to
    `ocds/releases/YYYY/MM/DD.jsonl` in the open-data bucket, in the order they were published.
    A rerun writes the same key with the same bytes."""
    settings = get_settings()
    day = day or local_today() - timedelta(days=1)
    zone = ZoneInfo(settings.timezone)
    start = stamp(datetime.combine(day, time(), zone))
    end = stamp(datetime.combine(day + timedelta(days=1), time(), zone))
    lines: list[str] = []
    cursor: str | None = None
    while True:
        stored, cursor = repo.published_page(after=start, before=end, limit=100, cursor=cursor)
        lines += [
            json.dumps(s.release, ensure_ascii=False, sort_keys=True, separators=(",", ":")) for s in stored
        ]
        if cursor is None:
            break
    key = f"{EXPORT_PREFIX}{day:%Y/%m/%d}.jsonl"
    open_data.put(key, "".join(line + "\n" for line in lines).encode("utf-8"), JSON_LINES)
    return {"key": key, "releases": len(lines), "day": day.isoformat()}
