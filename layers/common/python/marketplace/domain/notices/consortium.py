"""What each party of a consortium (联合体, domain/consortium.py) is told: the members invited to
confirm their part, the lead told of each answer, the members freed when the lead withdraws, and
every member (and the owner) when the consortium is selected. The owner learns nothing before
closing: enrollments are sealed until then."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marketplace.domain.notices.reading import (
    Event,
    MalformedEvent,
    Notice,
    Told,
    agency_inbox,
    purchase_page,
)


def _members(e: Event) -> list[dict[str, Any]]:
    value = e.data.get("members")
    if not isinstance(value, list) or not value:
        raise MalformedEvent("data.members must be a non-empty list")
    for member in value:
        if not isinstance(member, dict) or not isinstance(member.get("agency_id"), str):
            raise MalformedEvent("data.members[] must name each member's agency_id")
    return value


def _membership(e: Event) -> str:
    return f"/purchases/{e.text('purchase_id')}/enrollments/{e.text('lead_id')}/membership"


def _formed(e: Event) -> Told:
    purchase, lead, deadline = e.text("purchase_id"), e.text("lead_name"), e.local_time("enrollment_deadline")
    notices = [
        Notice(
            agency_inbox(m["agency_id"]),
            f"联合体邀请：{purchase}",
            f"{lead}（{e.text('lead_id')}）以联合体牵头方报名采购 {purchase}，列您为成员，"
            f"分工：{m.get('part', '')}。"
            f"请于 {deadline} 前确认或拒绝；未全部确认的联合体在报名截止时不计入有效报名。",
        )
        for m in _members(e)
    ]
    return Told(_membership(e), notices)


def _accepted(e: Event) -> Told:
    member, purchase = e.text("agency_id"), e.text("purchase_id")
    text = f"成员 {member} 已确认其在采购 {purchase} 联合体中的分工：{e.text('part')}。"
    return Told(purchase_page(e), [Notice(agency_inbox(e.text("lead_id")), "联合体成员已确认", text)])


def _declined(e: Event) -> Told:
    note = e.optional("note")
    why = f"（{note}）" if note else ""
    text = (
        f"成员 {e.text('agency_id')} 拒绝了其在采购 {e.text('purchase_id')} 联合体中的分工{why}。"
        "联合体须全部成员确认方计入有效报名：您可撤销报名后以新的成员重新报名。"
    )
    return Told(purchase_page(e), [Notice(agency_inbox(e.text("lead_id")), "联合体成员拒绝", text)])


def _released(e: Event) -> Told:
    purchase, lead = e.text("purchase_id"), e.text("lead_id")
    text = f"牵头方 {lead} 已撤销采购 {purchase} 的报名，您在该联合体中的成员身份随之解除。"
    return Told(
        purchase_page(e),
        [Notice(agency_inbox(a), f"联合体已解散：{purchase}", text) for a in e.ids("members")],
    )


def _selected(e: Event) -> Told:
    purchase, lead = e.text("purchase_id"), f"{e.text('lead_name')}（{e.text('lead_id')}）"
    members = _members(e)
    roster = "；".join(
        f"{m.get('agency_name') or m['agency_id']}（{m['agency_id']}）：{m.get('part', '')}" for m in members
    )
    title = f"联合体中选：{purchase}"
    notices = [
        Notice(
            agency_inbox(m["agency_id"]),
            title,
            f"您所在的联合体（牵头方 {lead}）在采购 {purchase} 中选，您的分工：{m.get('part', '')}。",
        )
        for m in members
    ]
    notices.append(Notice(e.owner(), title, f"中选的是联合体，牵头方 {lead}；成员：{roster}。"))
    return Told(purchase_page(e), notices)


RULES: dict[str, Callable[[Event], Told]] = {
    "ConsortiumFormed": _formed,
    "MembershipAccepted": _accepted,
    "MembershipDeclined": _declined,
    "ConsortiumReleased": _released,
    "ConsortiumSelected": _selected,
}
