"""What each party is told about the shelf (网上直购) and reward mode (守信激励)."""

from __future__ import annotations

from collections.abc import Callable

from marketplace.domain.notices.reading import Event, Notice, Told, agency_inbox, purchase_page


def shelf_page(e: Event) -> str:
    return f"/shelf/{e.text('offer_id')}"


def _listed(e: Event) -> Told:
    text = (
        f"您的货架商品 {e.text('offer_id')}（事项 {e.text('item_code')}，{e.text('price_yuan')} 元，"
        f"{e.number('time_limit_working_days')} 个工作日）已上架，业主可直接购买。"
    )
    return Told(shelf_page(e), [Notice(e.agency(), "货架商品已上架", text)])


def _withdrawn(e: Event) -> Told:
    by_admin = e.optional("by_role") == "admin"
    text = (
        f"您的货架商品 {e.text('offer_id')}（事项 {e.text('item_code')}）"
        f"{'已由平台管理员下架' if by_admin else '已下架'}，不能再被购买。"
    )
    return Told(shelf_page(e), [Notice(e.agency(), "货架商品已下架", text)])


def _bought(e: Event) -> Told:
    purchase, price, reason = e.text("purchase_id"), e.text("price_yuan"), e.reasons("reason")
    title = f"网上直购成交：{e.text('title')}"
    owner_text = (
        f"您已从机构 {e.text('agency_id')} 的货架直接购买（{price} 元），采购 {purchase} 已确认，"
        f"直购理由已公示：{reason}。电子中选确认书随后出具，请在规定期限内签订合同。"
    )
    agency_text = (
        f"业主 {e.text('owner_id')} 以 {price} 元购买了您的货架商品 {e.text('offer_id')}，"
        f"采购 {purchase} 已确认。电子中选确认书随后出具，请在规定期限内签订合同。"
    )
    return Told(
        purchase_page(e), [Notice(e.owner(), title, owner_text), Notice(e.agency(), title, agency_text)]
    )


def _reward(e: Event) -> Told:
    purchase = e.text("purchase_id")
    text = (
        f"业主 {e.text('owner_id')} 以守信激励方式（信用等级 {e.text('level')}）直接选取您承接采购 {purchase}"
        f"（{e.text('amount_yuan')} 元），理由：{e.reasons('reason')}。请在确认期限内确认接受或放弃。"
    )
    return Told(
        purchase_page(e), [Notice(agency_inbox(e.text("agency_id")), f"守信激励选取：{purchase}", text)]
    )


RULES: dict[str, Callable[[Event], Told]] = {
    "ShelfOfferListed": _listed,
    "ShelfOfferWithdrawn": _withdrawn,
    "ShelfPurchaseMade": _bought,
    "RewardSelected": _reward,
}
