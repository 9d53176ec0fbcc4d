"""Inboxes in the `inbox` table: the notification consumer writes entries; their readers list them
and mark them read. A partition per recipient, read newest first; unread entries also sit in the
sparse `by-unread` index, which marking an entry read takes it out of."""

from __future__ import annotations

import re
from typing import Any

from marketplace.domain.notifications import ID_PATTERN, InboxEntry, Notification
from marketplace.errors import BadRequest, Conflict, NotFound
from marketplace.repositories.base import decode_cursor, encode_cursor, translated
from marketplace.repositories.tables import InboxRow

TABLE_KEYS = {"recipient", "notification_id"}
UNREAD_KEYS = TABLE_KEYS | {"unread_by"}


def deliver(entry: InboxEntry) -> bool:
    """Add the entry unless it is there already (a redelivered event); True when it was added."""
    row = InboxRow(
        recipient=entry.recipient,
        notification_id=entry.notification_id,
        unread_by=entry.recipient,
        event_id=entry.event_id,
        event_type=entry.event_type,
        title=entry.title,
        text=entry.text,
        subject=entry.subject,
        link=entry.link,
        occurred_at=entry.occurred_at,
    )
    try:
        with translated():
            row.save(condition=InboxRow.notification_id.does_not_exist())
    except Conflict:
        return False
    return True


def page(
    recipient: str, *, unread_only: bool, limit: int, cursor: str | None
) -> tuple[list[Notification], str | None]:
    """A page of the recipient's entries, newest first: a Query on its partition, or on the unread
    index. One row more than the page is read, so the last page carries no cursor."""
    keys = UNREAD_KEYS if unread_only else TABLE_KEYS
    start = _start(decode_cursor(cursor, keys), recipient)
    source: Any = InboxRow.by_unread if unread_only else InboxRow
    with translated():
        rows = list(
            source.query(
                recipient,
                scan_index_forward=False,
                limit=limit + 1,
                page_size=limit + 1,
                last_evaluated_key=start,
            )
        )
    if len(rows) <= limit:
        return [_notification(r) for r in rows], None
    shown = rows[:limit]
    return [_notification(r) for r in shown], encode_cursor(_key(shown[-1], unread_only))


def _start(key: dict[str, Any] | None, recipient: str) -> dict[str, Any] | None:
    """A cursor resumes this recipient's list only, at a well-formed id (DynamoDB would answer a
    foreign or mistyped start key with a server error rather than a refusal)."""
    if key is None:
        return None
    mine = {"S": recipient}
    owned = key["recipient"] == mine and key.get("unread_by", mine) == mine
    at = key["notification_id"].get("S")
    if not owned or not isinstance(at, str) or not re.match(ID_PATTERN, at):
        raise BadRequest("cursor is not valid; pass back the one a previous page returned")
    return key


def _key(row: InboxRow, unread_only: bool) -> dict[str, Any]:
    key = {"recipient": {"S": row.recipient}, "notification_id": {"S": row.notification_id}}
    if unread_only:
        key["unread_by"] = {"S": row.recipient}
    return key


def mark_read(recipient: str, notification_id: str, at: str) -> Notification:
    """Mark one of the recipient's entries read, keeping the first reading's time; an entry that
    is not theirs is not found."""
    row = InboxRow(recipient=recipient, notification_id=notification_id)
    try:
        with translated():
            row.update(
                actions=[InboxRow.read_at.set(InboxRow.read_at | at), InboxRow.unread_by.remove()],
                condition=InboxRow.notification_id.exists(),
            )
    except Conflict as exc:
        raise NotFound(f"notification {notification_id} not found") from exc
    return _notification(row)


def _notification(row: InboxRow) -> Notification:
    return Notification(
        notification_id=row.notification_id,
        event_type=row.event_type,
        title=row.title,
        text=row.text,
        subject=row.subject,
        link=row.link,
        occurred_at=row.occurred_at,
        read=row.read_at is not None,
        read_at=row.read_at,
    )
