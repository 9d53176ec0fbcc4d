"""Use cases of the owner registry (DOMAIN.md §3). An owner user acts for the organisation in its
token; the admin sees every owner; the public sees name and type only."""

from __future__ import annotations

from marketplace.auth import Principal
from marketplace.clock import iso, utcnow
from marketplace.domain.masking import mask_name
from marketplace.domain.owners import Owner, OwnerProfile, OwnerPublic, OwnerType
from marketplace.errors import Forbidden
from marketplace.events import event
from marketplace.repositories import event_bus
from marketplace.repositories import owners as repo


def register_owner(profile: OwnerProfile, by: Principal) -> Owner:
    now = iso(utcnow())
    owner = Owner(
        **profile.model_dump(),
        owner_id=by.org_id,
        registered_at=now,
        registered_by=by.subject,
        updated_at=now,
    )
    data = {"owner_id": owner.owner_id, "name": owner.name, "owner_type": owner.owner_type.value}
    events = [event("OwnerRegistered", subject=owner.owner_id, data=data, actor=by.subject)]
    repo.add(owner, events)
    event_bus.flush(events)
    return owner


def update_owner(owner_id: str, profile: OwnerProfile, by: Principal) -> Owner:
    _require_full_view(owner_id, by, editing=True)
    previous = repo.get(owner_id)
    owner = Owner.model_validate(
        {
            **previous.model_dump(),
            **profile.model_dump(),
            "updated_at": iso(utcnow()),
            "version": previous.version + 1,
        }
    )
    data = {"owner_id": owner.owner_id, "name": owner.name, "owner_type": owner.owner_type.value}
    events = [event("OwnerUpdated", subject=owner_id, data=data, actor=by.subject)]
    repo.replace(owner, previous, events)
    event_bus.flush(events)
    return owner


def may_see_everything(owner_id: str, viewer: Principal | None) -> bool:
    return viewer is not None and (
        viewer.is_admin() or (viewer.role == "owner" and viewer.org_id == owner_id)
    )


def _require_full_view(owner_id: str, by: Principal, *, editing: bool) -> None:
    allowed = by.role == "owner" and by.org_id == owner_id
    if not editing:
        allowed = allowed or by.is_admin()
    if not allowed:
        raise Forbidden(f"only owner {owner_id} itself may change its registration")


def get_owner(owner_id: str, viewer: Principal | None) -> Owner | OwnerPublic:
    owner = repo.get(owner_id)
    if may_see_everything(owner_id, viewer):
        return owner
    return public_view(owner)


def public_view(owner: Owner) -> OwnerPublic:
    """A person who buys a service is named by the first character of its name only (docs/disclosure.md)."""
    person = owner.owner_type == OwnerType.person
    name = mask_name(owner.name) if person else owner.name
    return OwnerPublic(owner_id=owner.owner_id, name=name, owner_type=owner.owner_type)


def list_owners(
    *, viewer: Principal | None, owner_type: str | None, keyword: str | None, limit: int, cursor: str | None
) -> tuple[list[Owner] | list[OwnerPublic], str | None]:
    admin = viewer is not None and viewer.is_admin()
    page = repo.list_owners(owner_type=owner_type, keyword=keyword, by_code=admin, limit=limit, cursor=cursor)
    if admin:
        return page.owners, page.cursor
    return [public_view(o) for o in page.owners], page.cursor
