"""What an agency (and the admins and regulators concerned) is told about its credit: its events,
its level, the blacklist, appeals."""

from __future__ import annotations

from collections.abc import Callable

from marketplace.domain.notices.reading import (
    ADMINS,
    Event,
    Notice,
    Told,
    credit_page,
    regulators,
)


def _credit(e: Event) -> Told:
    points = e.number("points")
    about = f"（采购 {e.optional('purchase_id')}）" if e.optional("purchase_id") else ""
    text = f"{e.reasons('reason')}{about}"
    return Told(
        f"/agencies/{e.text('agency_id')}/credit",
        [Notice(e.agency(), f"信用记录：{points:+d} 分", text)],
    )


def _credit_level(e: Event) -> Told:
    before = e.optional("previous_level")
    level = f"{before} → {e.text('level')}" if before else e.text("level")
    text = f"信用分 {e.number('score')}，等级 {level}（记录到期后重新计算）。"
    return Told(f"/agencies/{e.text('agency_id')}/credit", [Notice(e.agency(), "信用等级变化", text)])


def _blacklisted(e: Event) -> Told:
    agency, until = e.text("agency_id"), e.local_time("until")
    items = "、".join(e.ids("items")) or "无"
    text = (
        f"因严重失信（{e.reasons('reason')}；依据：{e.reasons('basis')}），"
        f"机构 {agency} 被列入黑名单至 {until}，"
        f"期间不得报名、申请入驻或变更，已清退的服务事项：{items}。期满自动解除。"
    )
    title = f"列入黑名单：{agency}"
    recipients = [e.agency(), ADMINS, *regulators(e)]
    return Told(credit_page(e), [Notice(r, title, text) for r in recipients])


def _readmitted(e: Event) -> Told:
    agency = e.text("agency_id")
    items = "、".join(e.ids("items")) or "无"
    text = f"机构 {agency} 的黑名单已解除（{e.reasons('reason')}），恢复的服务事项：{items}。"
    title = f"服务事项已恢复（黑名单解除）：{agency}"
    return Told(credit_page(e), [Notice(r, title, text) for r in (e.agency(), ADMINS)])


def _appeal_filed(e: Event) -> Told:
    agency, credit_event = e.text("agency_id"), e.text("credit_event_id")
    points = e.number("points")
    text = f"机构 {agency} 对信用记录 {credit_event}（{points:+d} 分）申请信用修复：{e.reasons('reasons')}。"
    title = f"信用修复申请：{agency}"
    notices = [Notice(ADMINS, title, text + "请处理。")]
    notices += [Notice(r, title, text) for r in regulators(e)]
    return Told(f"/credit/events/{credit_event}/appeal", notices)


def _appeal_decided(e: Event) -> Told:
    credit_event = e.text("credit_event_id")
    if e.text("decision") == "revoke":
        outcome = f"信用记录 {credit_event} 已撤销（以抵销记录 {e.text('revocation_event_id')} 冲正）"
    else:
        outcome = f"信用记录 {credit_event} 维持"
    text = f"{outcome}：{e.reasons('reasons')}。"
    title = f"信用修复决定：{credit_event}"
    return Told(credit_page(e), [Notice(r, title, text) for r in (e.agency(), *regulators(e))])


RULES: dict[str, Callable[[Event], Told]] = {
    "CreditEventRecorded": _credit,
    "CreditLevelChanged": _credit_level,
    # BlacklistLifted (the standing's period ended) is told by AgencyReadmitted, which the lifting
    # task sends with the items it restored: one notice, not two.
    "AgencyBlacklisted": _blacklisted,
    "AgencyReadmitted": _readmitted,
    "CreditAppealFiled": _appeal_filed,
    "CreditAppealDecided": _appeal_decided,
}
