"""The one publisher of domain events to the EventBridge bus, through a transactional outbox.

A repository writes each event as an `OutboxRow` in the same transaction as the change it
describes, so an accepted change never loses its event. `flush` then puts the events on the bus
and deletes their rows; whatever a failed flush leaves behind, `relay` (a scheduled function)
publishes later. Consumers drop redeliveries by `event_id`.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException
from pynamodb.transactions import TransactWrite

from marketplace.clock import iso, utcnow
from marketplace.events import DomainEvent
from marketplace.observability import log
from marketplace.repositories.base import forget_sdk_clients, sdk_client
from marketplace.repositories.tables import OutboxRow
from marketplace.settings import get_settings

logger = logging.getLogger("marketplace.events")
RELAY_GRACE = timedelta(seconds=30)


def _events_client() -> Any:
    return sdk_client("events")


def reset_client() -> None:
    forget_sdk_clients("events")


def stage(transaction: TransactWrite, events: list[DomainEvent]) -> None:
    """Add the events to a transaction that is about to commit a change."""
    for e in events:
        transaction.save(
            OutboxRow(
                event_id=e.event_id,
                created_at=e.occurred_at,
                detail_type=e.detail_type,
                detail=e.detail(),
            ),
            condition=OutboxRow.event_id.does_not_exist(),
        )


def flush(events: list[DomainEvent]) -> None:
    """Publish committed events now; a failure is logged and left to the relay, never raised,
    because the change they describe has already been accepted."""
    try:
        _put([(e.detail_type, e.detail()) for e in events])
    except (BotoCoreError, ClientError, RuntimeError) as exc:
        log(logger, logging.WARNING, "event publication deferred to the relay", error=str(exc))
        return
    for e in events:
        _forget(e.event_id)
        log(logger, logging.INFO, "event published", event_type=e.detail_type, event_id=e.event_id)


def relay(limit: int = 100) -> int:
    """Publish outbox rows older than the grace period (a flush may still be under way before),
    oldest first. A Scan: the table holds only what a flush has not deleted yet, so it is all but
    empty, and a scheduled function is not a request path."""
    cutoff = iso(utcnow() - RELAY_GRACE)
    found = OutboxRow.scan(OutboxRow.created_at < cutoff, limit=limit, consistent_read=True)
    rows = sorted(found, key=lambda r: (r.created_at, r.event_id))
    if rows:
        _put([(r.detail_type, r.detail) for r in rows])
        for r in rows:
            _forget(r.event_id)
    return len(rows)


def _put(entries: list[tuple[str, dict[str, Any]]]) -> None:
    settings = get_settings()
    batch = [
        {
            "Source": settings.event_source,
            "DetailType": detail_type,
            "Detail": json.dumps(detail, ensure_ascii=False),
            "EventBusName": settings.event_bus_name,
        }
        for detail_type, detail in entries
    ]
    for start in range(0, len(batch), 10):
        result = _events_client().put_events(Entries=batch[start : start + 10])
        if result.get("FailedEntryCount"):
            raise RuntimeError(f"{result['FailedEntryCount']} events were refused by the bus")


def _forget(event_id: str) -> None:
    try:
        OutboxRow(event_id=event_id).delete()
    except PynamoDBException as exc:
        # The relay will publish it again; consumers deduplicate by event id.
        log(logger, logging.WARNING, "outbox row not deleted", event_id=event_id, error=str(exc))
