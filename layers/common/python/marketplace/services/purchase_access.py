"""Who may act on a purchase, and what a refusal may say. A purchase nobody has published yet
exists only for its owner and the admin: to anyone else it is not found, whatever they try, so a
refusal cannot confirm that a draft exists or what state it is in."""

from __future__ import annotations

from marketplace.auth import Principal
from marketplace.domain.purchases import Purchase
from marketplace.errors import Forbidden, NotFound


def require_published(purchase: Purchase) -> None:
    """For callers other than the owner and the admin, before anything about the purchase is said."""
    if purchase.published_at is None:
        raise NotFound(f"purchase {purchase.purchase_id} not found")


def require_owner(purchase: Purchase, by: Principal, refusal: str = "") -> None:
    if by.role == "owner" and purchase.is_owned_by(by.org_id):
        return
    if not by.is_admin():
        require_published(purchase)
    raise Forbidden(refusal or f"purchase {purchase.purchase_id} belongs to another owner")
