"""What the candidates of a price-bidding purchase are told (docs/bidding.md): a round opened, that
they were outbid when a round closed, that every quote is published after the last round. Never
anyone's figure but the best price so far, and never whose it is before the last round closed."""

from __future__ import annotations

from collections.abc import Callable

from marketplace.domain.notices.reading import Event, Notice, Told, agency_inbox


def _rounds(e: Event) -> str:
    return f"/purchases/{e.text('purchase_id')}/rounds"


def _best(e: Event) -> str:
    best = e.optional("best_price_yuan")
    return f"当前最低价 {best} 元" if best else "尚无有效报价"


def _round_opened(e: Event) -> Told:
    purchase, number = e.text("purchase_id"), e.number("round")
    closes = e.local_time("closes_at")
    text = (
        f"采购 {purchase} 第 {number}/{e.number('rounds')} 轮竞价已开始，{closes} 截止，{_best(e)}。"
        "本轮报价须低于贵机构上一次的有效报价；不报价则以上一次报价参加选取。"
    )
    title = f"竞价第 {number} 轮开始：{purchase}"
    return Told(_rounds(e), [Notice(agency_inbox(a), title, text) for a in e.ids("candidates")])


def _round_closed(e: Event) -> Told:
    purchase, number = e.text("purchase_id"), e.number("round")
    text = f"采购 {purchase} 第 {number} 轮竞价已结束，{_best(e)}，贵机构的报价不是当前最低价。"
    title = f"报价已被超越：{purchase}"
    return Told(_rounds(e), [Notice(agency_inbox(a), title, text) for a in e.ids("outbid")])


def _published(e: Event) -> Told:
    purchase = e.text("purchase_id")
    text = f"采购 {purchase} 的竞价已全部结束，各轮全部报价（含机构）已公开，选取结果将按时公布。"
    title = f"竞价报价已公开：{purchase}"
    agencies = [Notice(agency_inbox(a), title, text) for a in e.ids("candidates")]
    notices = [Notice(e.owner(), title, text), *agencies]
    return Told(f"/purchases/{purchase}/quotes", notices)


RULES: dict[str, Callable[[Event], Told]] = {
    "BiddingRoundOpened": _round_opened,
    "BiddingRoundClosed": _round_closed,
    "QuotesPublished": _published,
}
