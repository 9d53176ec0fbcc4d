"""What the regulators are told about integrity red flags (docs/red-flags.md): a flag that started
to apply goes to the shared inbox of the regulators of the purchase item's industry (where
complaints go too); with no industry known, to the admins."""

from __future__ import annotations

from collections.abc import Callable

from marketplace.domain.notices.reading import ADMINS, Event, Notice, Told, industry_inbox


def _raised(e: Event) -> Told:
    code, title = e.text("code"), e.text("title")
    purchase = e.optional("purchase_id")
    agencies = "、".join(e.ids("agencies"))
    about = f"采购 {purchase}" if purchase else f"机构 {agencies}"
    text = f"{about} 触发廉洁风险提示 {code}（{title}）：{e.text('detail')}。"
    if purchase and agencies:
        text += f"涉及机构：{agencies}。"
    text += "风险提示不是结论，请核查。"
    industry = e.optional("industry")
    recipient = industry_inbox(industry) if industry else ADMINS
    link = f"/purchases/{purchase}" if purchase else f"/red-flags?code={code}"
    return Told(link, [Notice(recipient, f"风险提示 {code}：{purchase or agencies}", text)])


RULES: dict[str, Callable[[Event], Told]] = {"RedFlagRaised": _raised}
