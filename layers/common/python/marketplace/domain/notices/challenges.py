"""What each party is told about challenges and complaints (质疑投诉), suspensions, cancellations
and annulments. The public never reads these: the challenger is named to the owner, the regulators
and the admin."""

from __future__ import annotations

from collections.abc import Callable

from marketplace.domain.notices.reading import (
    ADMINS,
    Enrollees,
    Event,
    Notice,
    Told,
    agency_inbox,
    industry_inbox,
    purchase_page,
)

# The public never reads these: the challenger is named to the owner, the regulators and the admin.


SUBJECTS = {"announcement": "采购公告", "result": "选取结果"}


def _subject(e: Event) -> str:
    return SUBJECTS.get(e.text("subject"), e.text("subject"))


def _challenge_filed(e: Event) -> Told:
    purchase, deadline = e.text("purchase_id"), e.local_time("answer_deadline")
    owner_text = (
        f"机构 {e.text('agency_id')} 对采购 {purchase} 的{_subject(e)}提出质疑，请于 {deadline} 前答复。"
    )
    agency_text = f"您对采购 {purchase} 的{_subject(e)}的质疑已提交，业主应于 {deadline} 前答复。"
    return Told(
        purchase_page(e),
        [
            Notice(e.owner(), f"收到质疑：{purchase}", owner_text),
            Notice(e.agency(), f"质疑已提交：{purchase}", agency_text),
        ],
    )


def _challenge_answered(e: Event) -> Told:
    purchase = e.text("purchase_id")
    accepted = e.text("decision") == "accept"
    verdict = "接受" if accepted else "驳回"
    text = f"业主{verdict}了您对采购 {purchase} 的{_subject(e)}的质疑：{e.reasons('answer')}。"
    if not accepted and e.optional("complaint_deadline"):
        text += f"如不满意，可于 {e.local_time('complaint_deadline')} 前向行业监管部门投诉。"
    owner_text = f"您已{verdict}机构 {e.text('agency_id')} 对采购 {purchase} 的质疑。"
    return Told(
        purchase_page(e),
        [
            Notice(e.agency(), f"质疑已答复：{purchase}", text),
            Notice(e.owner(), f"质疑已答复：{purchase}", owner_text),
        ],
    )


def _challenge_escalated(e: Event) -> Told:
    purchase = e.text("purchase_id")
    deadline = e.local_time("complaint_deadline")
    admin_text = (
        f"业主 {e.text('owner_id')} 未在期限内答复机构 {e.text('agency_id')} 对采购 {purchase} 的质疑。"
    )
    agency_text = f"业主未在期限内答复您对采购 {purchase} 的质疑；您可于 {deadline} 前向行业监管部门投诉。"
    owner_text = f"您未在期限内答复采购 {purchase} 的质疑，已报管理员。"
    return Told(
        purchase_page(e),
        [
            Notice(ADMINS, f"质疑逾期未答复：{purchase}", admin_text),
            Notice(e.agency(), f"质疑逾期未答复：{purchase}", agency_text),
            Notice(e.owner(), f"质疑逾期未答复：{purchase}", owner_text),
        ],
    )


def _complaint_filed(e: Event) -> Told:
    purchase = e.text("purchase_id")
    text = (
        f"机构 {e.text('agency_id')} 就采购 {purchase} 的{_subject(e)}投诉：{e.reasons('reasons')}。请处理。"
    )
    title = f"收到投诉：{purchase}"
    return Told(
        purchase_page(e),
        [
            Notice(industry_inbox(e.text("industry")), title, text),
            Notice(ADMINS, title, text),
            Notice(
                e.owner(), title, f"机构 {e.text('agency_id')} 就采购 {purchase} 的质疑答复向监管部门投诉。"
            ),
            Notice(e.agency(), f"投诉已提交：{purchase}", f"您就采购 {purchase} 的投诉已提交监管部门。"),
        ],
    )


def _complaint_decided(e: Event) -> Told:
    purchase = e.text("purchase_id")
    verdict = "投诉成立" if e.text("decision") == "uphold" else "投诉驳回"
    text = f"采购 {purchase} 的投诉处理结果：{verdict}。{e.reasons('reasons')}。"
    title = f"{verdict}：{purchase}"
    return Told(
        purchase_page(e),
        [Notice(e.agency(), title, text), Notice(e.owner(), title, text), Notice(ADMINS, title, text)],
    )


def _suspended(e: Event) -> Told:
    purchase = e.text("purchase_id")
    text = f"采购 {purchase} 因质疑暂停，计时停止；恢复后按剩余时间继续。"
    title = f"采购暂停：{purchase}"
    return Told(
        purchase_page(e),
        [
            Notice(e.owner(), title, f"{text}请修正后恢复，或取消采购。"),
            Notice(ADMINS, title, text),
        ],
        enrollees=Enrollees(purchase, title, f"{text}暂停期间不能报名、撤销报名或报价。"),
    )


def _resumed(e: Event) -> Told:
    purchase, status = e.text("purchase_id"), e.text("status")
    if status == "enrollment_open":
        text = f"采购 {purchase} 已恢复，报名截止顺延至 {e.local_time('enrollment_deadline')}。"
    elif status == "enrollment_closed":
        text = f"采购 {purchase} 已恢复，选取时间顺延至 {e.local_time('selection_time')}。"
    elif status == "bidding":
        text = f"采购 {purchase} 已恢复，本轮报价截止顺延至 {e.local_time('round_closes_at')}。"
    elif status == "scoring":
        text = f"采购 {purchase} 已恢复，评审截止顺延至 {e.local_time('scoring_deadline')}。"
    elif status == "selected":  # the panel's scores were all in: ranked at once
        text = f"采购 {purchase} 已恢复，评审已完成。"
    else:
        text = f"采购 {purchase} 已恢复，确认截止顺延至 {e.local_time('confirmation_deadline')}。"
    note = e.optional("note")
    text += f"业主说明：{note}" if note else ""
    title = f"采购恢复：{purchase}"
    return Told(
        purchase_page(e),
        [Notice(e.owner(), title, text), Notice(ADMINS, title, text)],
        enrollees=Enrollees(purchase, title, text),
    )


def _cancelled(e: Event) -> Told:
    purchase = e.text("purchase_id")
    text = f"采购 {purchase} 已取消：{e.reasons('reason')}。"
    title = f"采购取消：{purchase}"
    return Told(
        purchase_page(e),
        [Notice(e.owner(), title, text), Notice(ADMINS, title, text)],
        enrollees=Enrollees(purchase, title, text),
    )


def _annulled(e: Event) -> Told:
    purchase, previous, agency = e.text("purchase_id"), e.text("agency_id"), e.optional("replaced_by")
    why = e.reasons("reason")
    notices = [
        Notice(e.agency(), f"中选结果被撤销：{purchase}", f"您在采购 {purchase} 的中选被撤销：{why}。")
    ]
    if agency:
        deadline = e.local_time("confirmation_deadline")
        owner_text = f"{previous} 的中选被撤销（{why}），{agency} 递补，请于 {deadline} 前确认。"
        notices.append(Notice(e.owner(), f"中选结果被撤销：{purchase}", owner_text))
        text = f"您递补为采购 {purchase} 的中选机构，请于 {deadline} 前确认接受或放弃。"
        notices.append(Notice(agency_inbox(agency), f"您已递补中选：{purchase}", text))
    else:
        notices.append(
            Notice(
                e.owner(), f"中选结果被撤销：{purchase}", f"{previous} 的中选被撤销（{why}），无可递补机构。"
            )
        )
    others = Enrollees(purchase, f"中选结果被撤销：{purchase}", f"采购 {purchase} 的中选结果被撤销：{why}。")
    return Told(purchase_page(e), notices, enrollees=others)


RULES: dict[str, Callable[[Event], Told]] = {
    "ChallengeFiled": _challenge_filed,
    "ChallengeAnswered": _challenge_answered,
    "ChallengeEscalated": _challenge_escalated,
    "ComplaintFiled": _complaint_filed,
    "ComplaintDecided": _complaint_decided,
    "PurchaseSuspended": _suspended,
    "PurchaseResumed": _resumed,
    "PurchaseCancelled": _cancelled,
    "ResultAnnulled": _annulled,
}
