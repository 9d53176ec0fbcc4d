"""Use cases of the district's statistics (docs/statistics.md): fold a queued domain event into the
aggregates (once), answer a query with one Query, and rebuild the aggregates from the ledger with
the same fold."""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from typing import Any

from marketplace.clock import local_today
from marketplace.domain import statistics as domain
from marketplace.domain.statistics import Counters, Dimensions, LedgerEntry, PurchaseState
from marketplace.errors import BadRequest, FieldError, NotFound, ServiceUnavailable
from marketplace.repositories import statistics as repo
from marketplace.services.queued_events import MalformedMessage, event_detail, handle_batch
from marketplace.settings import get_settings

logger = logging.getLogger("marketplace.statistics")
ATTEMPTS = 8  # a purchase's events folded at once: each retry reads the state the other wrote


def _detail(message_body: str) -> dict[str, Any]:
    detail = event_detail(message_body)
    if not all(isinstance(detail.get(k), str) for k in ("event_id", "event_type", "occurred_at")):
        raise MalformedMessage("no domain event detail (event_id, event_type, occurred_at)")
    return detail


def fold_batch(records: list[dict[str, Any]]) -> dict[str, list[dict[str, str]]]:
    """The consumer's answer to an SQS batch (services.queued_events). A redelivered event is folded
    once (the ledger's guard)."""
    return handle_batch(records, fold_message, logger=logger, done="statistics folded")


def fold_message(message_body: str) -> bool:
    """Fold one queued event into the aggregates; True when it changed them (False for an event the
    statistics do not read, or one folded already)."""
    detail = _detail(message_body)
    if detail["event_type"] not in domain.FOLDED_TYPES:
        return False
    data = detail["data"]
    purchase_id = str(data.get("purchase_id") or detail.get("subject") or "")
    if not purchase_id:
        raise MalformedMessage(f"{detail['event_type']} names no purchase")
    settings = get_settings()
    calendar = _calendar()
    for attempt in range(ATTEMPTS):
        read = repo.purchase_state(purchase_id)
        stored = read.document or {}
        dimensions = (
            Dimensions.from_dict(stored["dimensions"])
            if "dimensions" in stored
            else resolve_dimensions(purchase_id, detail)
        )
        entry = LedgerEntry(
            event_id=detail["event_id"],
            event_type=detail["event_type"],
            occurred_at=detail["occurred_at"],
            purchase_id=purchase_id,
            data=domain.kept_data(detail["event_type"], data),
            dimensions=dimensions,
        )
        state, add = domain.fold(
            PurchaseState.from_dict(stored.get("state")), entry, calendar, settings.timezone
        )
        document = {"dimensions": dimensions.as_dict(), "state": state.as_dict()}
        increments = {key: add for key in domain.group_keys(dimensions)} if add else {}
        try:
            return repo.apply(entry, read, document, increments)
        except (repo.StaleState, ServiceUnavailable):
            # Stale: another event of this purchase was folded meanwhile. Busy: another transaction
            # held one of the same aggregate rows (a month's busiest groups are every event's).
            if attempt == ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0.005, 0.02) * (attempt + 1))  # noqa: S311 - jitter, not a secret
    return False  # pragma: no cover - the loop returns or raises


def resolve_dimensions(purchase_id: str, detail: dict[str, Any]) -> Dimensions:
    """A purchase's dimensions when its first event is folded: the purchase's item, region, owner,
    price kind, method, ceiling and month of publication from its stored record, the item's
    industry from the catalogue. The ceiling is the amount only for a ceiling-priced, non-shelf
    purchase (`domain.savings_ceiling`). What the record lacks falls back to the event (no
    ceiling then); `resolved` names what was looked up."""
    from marketplace.repositories import catalogue
    from marketplace.repositories import purchases as purchases_repo

    data = detail["data"]
    timezone = get_settings().timezone
    resolved: list[str] = []
    try:
        purchase = purchases_repo.get(purchase_id)
    except NotFound:
        purchase = None
    item = purchase.item_code if purchase else str(data.get("item_code") or domain.UNKNOWN)
    region = purchase.region if purchase else str(data.get("region") or domain.UNKNOWN)
    owner = purchase.owner_id if purchase else str(data.get("owner_id") or domain.UNKNOWN)
    published = (purchase.published_at if purchase else None) or detail["occurred_at"]
    price_kind = purchase.price_kind.value if purchase else None
    method = purchase.method.value if purchase else None
    ceiling = domain.savings_ceiling(purchase.amount_yuan, price_kind, method) if purchase else None
    if purchase:
        resolved += ["item", "region", "owner", "month", "price_kind", "method", "ceiling"]
    industry = domain.UNKNOWN
    if item != domain.UNKNOWN:
        try:
            industry = catalogue.latest(item).industry
            resolved.append("industry")
        except NotFound:
            pass
    return Dimensions(
        item=item,
        industry=industry,
        region=region,
        owner=owner,
        month=domain.month_of(published, timezone),
        ceiling_fen=ceiling,
        resolved=tuple(resolved),
        price_kind=price_kind,
        method=method,
    )


def _calendar() -> Any:
    from marketplace.services.calendar import working_calendar

    return working_calendar()


# Reading.


@dataclass(frozen=True)
class MonthRange:
    start: str
    end: str


def month_range(start: str | None, end: str | None) -> MonthRange:
    """The months a query reads: `to` defaults to this month, `from` to the default span before
    it; a range the wrong way round, or longer than the maximum, is refused naming the field."""
    rules = get_settings().rules
    errors: list[FieldError] = []
    for name, value in (("from", start), ("to", end)):
        if value is not None and not _is_month(value):
            errors.append(FieldError(name, "must be a month, YYYY-MM"))
    if errors:
        raise BadRequest("invalid month range", errors=errors)
    today = local_today()
    last = end or f"{today.year:04d}-{today.month:02d}"
    first = start or domain.month_at(domain.month_index(last) - rules.statistics_default_months + 1)
    if domain.month_index(first) > domain.month_index(last):
        raise BadRequest("from is after to", errors=[FieldError("from", f"must not be after {last}")])
    span = domain.months_between(first, last)
    if span > rules.statistics_max_months:
        field = "from" if start is not None else "to"
        raise BadRequest(
            f"the range covers {span} months, more than {rules.statistics_max_months}",
            errors=[FieldError(field, f"at most {rules.statistics_max_months} months from the other end")],
        )
    return MonthRange(first, last)


def _is_month(value: str) -> bool:
    import re

    return re.fullmatch(domain.MONTH_PATTERN, value) is not None


def check_group_by(group_by: str) -> str:
    if group_by not in domain.GROUP_BYS:
        raise BadRequest(
            f"cannot group by {group_by!r}",
            errors=[FieldError("group_by", f"one of {', '.join(domain.GROUP_BYS)}")],
        )
    return group_by


@dataclass(frozen=True)
class Report:
    group_by: str
    start: str
    end: str
    groups: list[tuple[str, dict[str, Any]]]  # (value, figures), ordered by value


def report(group_by: str, start: str | None, end: str | None) -> Report:
    """The figures of every group with activity in the range: one Query of the group_by's partition,
    its months summed here."""
    check_group_by(group_by)
    months = month_range(start, end)
    totals = domain.summed(repo.aggregates(group_by, months.start, months.end))
    groups = [(value, domain.figures(totals[value])) for value in sorted(totals)]
    return Report(group_by, months.start, months.end, groups)


def wants_csv(accept: str) -> bool:
    """CSV when the Accept header lists text/csv and not application/json before it (q-values
    are not weighed: the listed order decides)."""
    types = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    if "text/csv" not in types:
        return False
    return "application/json" not in types or types.index("text/csv") < types.index("application/json")


def report_csv(result: Report) -> str:
    return domain.to_csv(
        domain.csv_row(result.group_by, value, result.start, result.end, f) for value, f in result.groups
    )


# Recomputation from the ledger.


def recomputed() -> dict[tuple[str, str, str], Counters]:
    """The aggregates the ledger makes, folded again from the start with the same fold."""
    return domain.refold(repo.ledger(), _calendar(), get_settings().timezone)


def kept() -> dict[tuple[str, str, str], Counters]:
    """The aggregates as the consumer keeps them (rows whose counters are all zero left out)."""
    return {
        key: {k: v for k, v in c.items() if v} for key, c in repo.all_aggregates().items() if any(c.values())
    }


def rebuild() -> dict[str, int]:
    """Replace the aggregates with those the ledger makes. Run it with the consumer paused (its
    event source mapping disabled): an event folded meanwhile would be overwritten."""
    computed = recomputed()
    before = kept()
    written = repo.replace_aggregates(computed)
    changed = sum(1 for key in computed.keys() | before.keys() if computed.get(key) != before.get(key))
    return {"rows": written, "changed": changed}
