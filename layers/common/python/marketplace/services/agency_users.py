"""An agency's administrator adds and removes the staff users who act for the agency; their
tokens carry the agency's organisation id (DOMAIN.md §2, "authorised contact users")."""

from __future__ import annotations

from marketplace.auth import Principal
from marketplace.clock import iso, utcnow
from marketplace.domain.agencies import Member, NewMember
from marketplace.domain.model import revised
from marketplace.errors import Conflict, Forbidden, NotFound
from marketplace.repositories import agencies as repo
from marketplace.repositories import directory


def _require_administrator(agency_id: str, by: Principal) -> None:
    agency = repo.get(agency_id)
    if not (by.role == "agency" and by.org_id == agency_id and by.subject in agency.administrators):
        raise Forbidden(f"only an administrator of agency {agency_id} manages its users")


def list_users(agency_id: str, by: Principal) -> list[Member]:
    if not by.is_admin():
        _require_administrator(agency_id, by)
    else:
        repo.get(agency_id)
    return repo.members(agency_id)


def add_user(agency_id: str, new: NewMember, by: Principal) -> Member:
    _require_administrator(agency_id, by)
    member = Member(
        username=new.email.lower(),
        name=new.name,
        email=new.email,
        added_at=iso(utcnow()),
        added_by=by.subject,
    )
    repo.reserve_member(agency_id, member)
    try:
        subject = directory.create_user(
            member.username, email=new.email, name=new.name, org_id=agency_id, group="agency"
        )
    except Exception:
        repo.drop_member(agency_id, member.username)  # the name is free again; nothing half-made stays
        raise
    member = revised(member, subject=subject)
    repo.confirm_member(agency_id, member)
    return member


def remove_user(agency_id: str, username: str, by: Principal) -> None:
    _require_administrator(agency_id, by)
    username = username.lower()
    found = next((m for m in repo.members(agency_id) if m.username == username), None)
    if found is None:
        raise NotFound(f"{username} is not a user of agency {agency_id}")
    if found.subject and found.subject == by.subject:
        raise Conflict("an administrator does not remove itself")
    directory.remove_user(username)
    repo.drop_member(agency_id, username)
