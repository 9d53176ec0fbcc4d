"""Use cases of the inboxes (DOMAIN.md §11): deliver a domain event to the inboxes it concerns, and
let a signed-in caller read and mark their own inbox.

Delivery is at least once (EventBridge, then SQS, may repeat an event); each entry's key derives
from the event id and the recipient, so a repeat adds nothing.
"""

from __future__ import annotations

import re

from marketplace.auth import Principal
from marketplace.clock import iso, utcnow
from marketplace.domain import notifications as domain
from marketplace.domain.notifications import Notification
from marketplace.errors import FieldError, Forbidden, NotFound
from marketplace.repositories import inbox, recipients
from marketplace.settings import get_settings


def deliver(message_body: str) -> int:
    """Write the entries one queued event makes; returns how many were new (0 for a repeat, or for
    an event no one is told about). Raises `MalformedEvent` for a message that is not an event."""
    plan = domain.plan(domain.detail_of(message_body), timezone=get_settings().timezone)
    if plan is None:
        return 0
    notices = list(plan.notices)
    if plan.audience is not None:
        holders = recipients.offer_holders(plan.audience.item_code)
        notices += domain.audience_members(plan.audience, holders)
    if plan.enrollees is not None:
        notices += domain.enrollee_notices(plan, recipients.enrollees(plan.enrollees.purchase_id))
    return sum(1 for entry in domain.entries(plan, notices) if inbox.deliver(entry))


def list_notifications(
    caller: Principal, *, unread_only: bool, limit: int, cursor: str | None, industry: str | None = None
) -> tuple[list[Notification], str | None]:
    return inbox.page(_inbox(caller, industry), unread_only=unread_only, limit=limit, cursor=cursor)


def mark_read(caller: Principal, notification_id: str, industry: str | None = None) -> Notification:
    box = _inbox(caller, industry)
    if not re.match(domain.ID_PATTERN, notification_id):
        # No entry has such an id; refusing it here keeps a malformed key from reaching DynamoDB.
        raise NotFound(f"notification {notification_id} not found")
    return inbox.mark_read(box, notification_id, iso(utcnow()))


def _inbox(caller: Principal, industry: str | None) -> str:
    """The caller's own inbox, or, for a regulator naming one of its industries, the inbox the
    regulators of that industry share (what whichever of them acts on: a complaint to decide)."""
    if industry is None:
        return domain.inbox_of(caller.role, caller.org_id)
    if caller.role != "regulator" or industry not in caller.industries:
        raise Forbidden(
            f"only a regulator of industry {industry} reads its shared inbox",
            errors=[FieldError("industry", "not one of the caller's industries")],
        )
    return domain.industry_inbox(industry)
