"""What each party is told after the award: the contract (合同), the delivery and completion
(履约), the evaluations."""

from __future__ import annotations

from collections.abc import Callable

from marketplace.domain.notices.reading import (
    ADMINS,
    Event,
    Notice,
    Told,
    purchase_page,
)


def _contract(e: Event) -> str:
    return f"/purchases/{e.text('purchase_id')}/contract"


def _contract_registered(e: Event) -> Told:
    purchase, deadline = e.text("purchase_id"), e.local_time("deadline")
    again = "（替换此前登记的合同）" if e.data.get("replaces") is True else ""
    amount = e.text("amount_yuan")
    text = f"业主已登记采购 {purchase} 的合同{again}，金额 {amount} 元，请于 {deadline} 前签署或拒绝。"
    return Told(_contract(e), [Notice(e.agency(), f"合同待签署：{purchase}", text)])


def _contract_signed(e: Event) -> Told:
    purchase = e.text("purchase_id")
    title = f"合同已签订：{purchase}"
    owner_text = (
        f"机构 {e.text('agency_id')} 已签署采购 {purchase} 的合同（签订日期 {e.text('signed_on')}）。"
    )
    agency_text = f"您已签署采购 {purchase} 的合同（签订日期 {e.text('signed_on')}），请按约履行。"
    return Told(_contract(e), [Notice(e.owner(), title, owner_text), Notice(e.agency(), title, agency_text)])


def _contract_refused(e: Event) -> Told:
    purchase = e.text("purchase_id")
    reasons = e.reasons("reasons")
    text = f"机构 {e.text('agency_id')} 拒绝签署采购 {purchase} 的合同：{reasons}。您可在期限内重新登记合同。"
    return Told(_contract(e), [Notice(e.owner(), f"合同被拒签：{purchase}", text)])


def _contract_reminder(e: Event) -> Told:
    purchase, deadline, days = e.text("purchase_id"), e.local_time("deadline"), e.number("days_left")
    title = f"合同签订即将到期：{purchase}"
    if e.text("waiting_for") == "agency":
        owner_text = f"采购 {purchase} 的合同尚待机构签署，签订期限 {deadline}（约 {days} 天）。"
        agency_text = (
            f"请于 {deadline} 前签署或拒绝采购 {purchase} 的合同（约剩 {days} 天），逾期将记入信用记录。"
        )
    else:
        owner_text = f"请于 {deadline} 前登记采购 {purchase} 的合同（约剩 {days} 天）。"
        agency_text = f"采购 {purchase} 的合同尚待业主登记，签订期限 {deadline}（约 {days} 天）。"
    return Told(_contract(e), [Notice(e.owner(), title, owner_text), Notice(e.agency(), title, agency_text)])


def _contract_escalated(e: Event) -> Told:
    purchase = e.text("purchase_id")
    fault = "机构未按时签署" if e.text("at_fault") == "agency" else "业主未按时登记合同"
    text = f"采购 {purchase} 到期未签订合同（{fault}）：{e.reasons('reason')}。"
    title = f"逾期未签订合同：{purchase}"
    return Told(
        _contract(e),
        [Notice(ADMINS, title, text), Notice(e.owner(), title, text), Notice(e.agency(), title, text)],
    )


def _delivered(e: Event) -> Told:
    purchase, deadline = e.text("purchase_id"), e.local_time("completion_deadline")
    again = "（重新交付）" if e.number("reports") > 1 else ""
    late = "，已超过承诺时限" if e.data.get("late") is True else ""
    owner_text = (
        f"机构 {e.text('agency_id')} 报告已完成服务{again}（报告编号 {e.text('report_number')}{late}）。"
        f"请于 {deadline} 前确认完成或提出异议；逾期未答复视为确认完成。"
    )
    agency_text = f"您已报告采购 {purchase} 的服务完成{again}{late}；业主将于 {deadline} 前确认。"
    return Told(
        purchase_page(e),
        [
            Notice(e.owner(), f"服务已交付：{purchase}", owner_text),
            Notice(e.agency(), f"交付已报告：{purchase}", agency_text),
        ],
    )


def _disputed(e: Event) -> Told:
    purchase = e.text("purchase_id")
    text = (
        f"业主对采购 {purchase} 的交付（报告编号 {e.text('report_number')}）提出异议："
        f"{e.reasons('reasons')}。请处理后重新报告交付。"
    )
    return Told(purchase_page(e), [Notice(e.agency(), f"交付有异议：{purchase}", text)])


def _completed(e: Event) -> Told:
    purchase = e.text("purchase_id")
    how = "业主逾期未答复，视为确认完成" if e.data.get("accepted_by_silence") is True else "业主已确认完成"
    return Told(
        purchase_page(e),
        [
            Notice(e.owner(), f"采购已完成：{purchase}", f"{how}。请对服务进行评价。"),
            Notice(e.agency(), f"采购已完成：{purchase}", f"{how}。"),
        ],
    )


def _evaluated(e: Event) -> Told:
    purchase = e.text("purchase_id")
    who = "业主" if e.text("rater") == "owner" else "行业主管部门"
    average = e.data.get("average")
    score = f"{average:g}" if isinstance(average, int | float) else "?"
    text = f"{who}对采购 {purchase} 的服务作出评价：平均 {score} 分（满分 5 分）。评价已公开。"
    notices = [Notice(e.agency(), f"收到服务评价：{purchase}", text)]
    if e.text("rater") == "regulator":
        notices.append(Notice(e.owner(), f"主管部门已评价：{purchase}", text))
    return Told(f"/purchases/{purchase}/evaluations", notices)


RULES: dict[str, Callable[[Event], Told]] = {
    "ContractRegistered": _contract_registered,
    "ContractSigned": _contract_signed,
    "ContractRefused": _contract_refused,
    "ContractReminder": _contract_reminder,
    "ContractEscalated": _contract_escalated,
    "DeliveryReported": _delivered,
    "DeliveryDisputed": _disputed,
    "PurchaseCompleted": _completed,
    "EvaluationRecorded": _evaluated,
}
