"""What each party is told about a purchase up to its letter: publication, enrollment, the result,
confirmation."""

from __future__ import annotations

from collections.abc import Callable

from marketplace.domain.notices.reading import (
    ADMINS,
    FUNDING,
    Audience,
    Enrollees,
    Event,
    MalformedEvent,
    Notice,
    Told,
    agency_inbox,
    purchase_page,
)


def _submitted(e: Event) -> Told:
    told = Told(purchase_page(e))
    if e.data.get("needs_review") is True:
        funding = FUNDING.get(e.text("funding_type"), e.text("funding_type"))
        project = e.text("project_code")
        text = f"业主 {e.text('owner_id')} 提交了采购申请（项目代码 {project}，{funding}），请审核。"
        told.notices.append(Notice(ADMINS, f"待审核采购：{project}", text))
    return told


def _returned(e: Event) -> Told:
    text = f"采购 {e.text('purchase_id')} 的申请被退回：{e.reasons('reasons')}。修改后可重新提交。"
    return Told(purchase_page(e), [Notice(e.owner(), "采购申请被退回", text)])


def _published(e: Event) -> Told:
    title = e.text("title")
    again = "（重新公告）" if e.optional("reannounces") else ""
    if e.optional("method") in ("direct", "reward"):
        # No one enrolls in a direct selection: the chosen agency hears of it with the result.
        text = f"您的直接选取公告已发布{again}，选取理由随结果公示。"
        return Told(purchase_page(e), [Notice(e.owner(), f"采购公告已发布：{title}", text)])
    deadline = e.local_time("enrollment_deadline")
    text = f"事项 {e.text('item_code')}，项目代码 {e.text('project_code')}{again}，报名截止 {deadline}。"
    owner_text = f"您的采购公告已发布{again}，报名截止 {deadline}。"
    return Told(
        purchase_page(e),
        [Notice(e.owner(), f"采购公告已发布：{title}", owner_text)],
        Audience(
            e.text("item_code"),
            e.text("region"),
            f"新的采购公告：{title}",
            text,
            frozenset(e.ids("excluded")),
        ),
    )


# The owner learns how many enrolled, not who: the list is sealed until enrollment closes.


def _enrolled(e: Event) -> Told:
    count = e.number("enrollments")
    text = f"采购 {e.text('purchase_id')} 收到一家机构报名，目前共 {count} 家报名；名单在报名截止后公开。"
    return Told(purchase_page(e), [Notice(e.owner(), "收到报名", text)])


def _withdrawn(e: Event) -> Told:
    count = e.number("enrollments")
    text = f"一家机构撤销了对采购 {e.text('purchase_id')} 的报名，目前共 {count} 家报名。"
    return Told(purchase_page(e), [Notice(e.owner(), "报名已撤销", text)])


def _failed(e: Event) -> Told:
    purchase, eligible, minimum = e.text("purchase_id"), e.number("eligible"), e.number("minimum")
    if eligible < minimum:
        why = f"有效报名 {eligible} 家，少于最低 {minimum} 家（{e.reasons('reason')}）。"
    else:  # enough enrolled, but the selected agency abandoned with no reserve left to move up
        why = f"未能确定中选机构（{e.reasons('reason')}）。"
    title = f"采购未成交：{purchase}"
    return Told(
        purchase_page(e),
        [Notice(e.owner(), title, f"{why}可一键重新公告。")],
        enrollees=Enrollees(purchase, title, f"您报名的采购 {purchase} 未成交：{why}"),
    )


def _result(e: Event) -> Told:
    purchase, deadline = e.text("purchase_id"), e.local_time("confirmation_deadline")
    selected, short_list = e.optional("selected_agency"), e.ids("short_list")
    if selected:
        owner_text = f"中选机构为 {selected}，请于 {deadline} 前确认。"
    else:
        owner_text = f"入围机构：{'、'.join(short_list)}，请于 {deadline} 前选定一家。"
    notices = [Notice(e.owner(), f"选取结果已公布：{purchase}", owner_text)]
    if selected:
        text = f"您在采购 {purchase} 中选，请于 {deadline} 前确认接受或放弃。"
        if e.optional("batch_of"):  # a batch's project: its own code, its own confirmation
            text = (
                f"您在批量采购 {e.text('batch_of')} 的项目 {e.text('project_code')}（采购 {purchase}）中选，"
                f"请于 {deadline} 前确认接受或放弃。"
            )
        notices.append(Notice(agency_inbox(selected), f"您已中选：{purchase}", text))
    for agency in short_list:
        text = f"您已入围采购 {purchase} 的短名单，等待业主选定。"
        notices.append(Notice(agency_inbox(agency), f"您已入围：{purchase}", text))
    for rank, agency in enumerate(e.ids("reserves"), start=1):
        text = f"您是采购 {purchase} 的第 {rank} 候补；中选机构放弃时依次递补。"
        notices.append(Notice(agency_inbox(agency), f"您是候补：{purchase}", text))
    if selected:
        others = Enrollees(
            purchase,
            f"未中选：{purchase}",
            f"采购 {purchase} 的选取结果已公布，中选机构为 {selected}；您未中选。",
        )
    else:
        others = Enrollees(
            purchase,
            f"未入围：{purchase}",
            f"采购 {purchase} 的短名单已公布（{'、'.join(short_list)}）；您未入围，未中选。",
        )
    return Told(purchase_page(e), notices, enrollees=others)


def _batch_split(e: Event) -> Told:
    """A batch's one draw: the owner learns each project's agency; each winner its projects (it
    hears of each project's result from that project's ResultPublished too); each reserve its rank
    in each project it stands for; every other enrollee that it was not selected."""
    batch, deadline = e.text("purchase_id"), e.local_time("confirmation_deadline")
    projects = e.data.get("projects")
    if not isinstance(projects, list) or not all(isinstance(p, dict) for p in projects):
        raise MalformedEvent("data.projects must be a list of projects")
    lines = [Event(p, e.timezone) for p in projects]
    assigned = "；".join(f"{p.text('project_code')} → {p.text('agency_id')}" for p in lines)
    owner_text = f"批量采购已分项选取：{assigned}。每个项目为单独的采购，请于 {deadline} 前分别确认。"
    notices = [Notice(e.owner(), f"批量采购已分项选取：{e.text('title')}", owner_text)]
    won: dict[str, list[str]] = {}
    for p in lines:
        won.setdefault(p.text("agency_id"), []).append(
            f"{p.text('project_code')}（采购 {p.text('purchase_id')}）"
        )
    for agency, codes in won.items():
        text = (
            f"您在批量采购 {batch} 中选项目：{'、'.join(codes)}；"
            f"每个项目请分别于 {deadline} 前确认接受或放弃。"
        )
        notices.append(Notice(agency_inbox(agency), f"您已中选：{e.text('title')}", text))
    # Each project has its own reserves (docs/batch.md): a reserve hears its rank in each project.
    ranks: dict[str, list[str]] = {}
    for p in lines:
        for rank, agency in enumerate(p.ids("reserves"), start=1):
            ranks.setdefault(agency, []).append(f"{p.text('project_code')} 的第 {rank} 候补")
    for agency, where in ranks.items():
        text = f"您是批量采购 {batch} 项目 {'、'.join(where)}；该项目的中选机构放弃时依次递补。"
        notices.append(Notice(agency_inbox(agency), f"您是候补：{e.text('title')}", text))
    others = Enrollees(
        batch, f"未中选：{batch}", f"批量采购 {batch} 的选取结果已公布（{assigned}）；您未中选。"
    )
    return Told(purchase_page(e), notices, enrollees=others)


def _picked(e: Event) -> Told:
    purchase, agency, deadline = (
        e.text("purchase_id"),
        e.text("agency_id"),
        e.local_time("confirmation_deadline"),
    )
    return Told(
        purchase_page(e),
        [
            Notice(e.owner(), f"已选定中选机构：{agency}", f"请于 {deadline} 前确认采购 {purchase} 的结果。"),
            Notice(e.agency(), f"业主已选定您：{purchase}", f"请于 {deadline} 前确认接受或放弃。"),
            *(
                Notice(
                    agency_inbox(reserve),
                    f"业主选定了其他机构：{purchase}",
                    f"您是采购 {purchase} 的第 {rank} 候补；中选机构放弃时依次递补。",
                )
                for rank, reserve in enumerate(e.ids("reserves"), start=1)
            ),
        ],
    )


def _both(title: str, owner_text: str, agency_text: str) -> Callable[[Event], Told]:
    """Owner and agency told the same news, each from their side."""

    def told(e: Event) -> Told:
        values = {"purchase": e.text("purchase_id"), "agency": e.text("agency_id")}
        heading = title.format(**values)
        return Told(
            purchase_page(e),
            [
                Notice(e.owner(), heading, owner_text.format(**values)),
                Notice(e.agency(), heading, agency_text.format(**values)),
            ],
        )

    return told


def _accepted(e: Event) -> Told:
    text = f"机构 {e.text('agency_id')} 已接受采购 {e.text('purchase_id')} 的中选。"
    return Told(purchase_page(e), [Notice(e.owner(), f"中选机构已接受：{e.text('agency_id')}", text)])


def _abandoned(e: Event) -> Told:
    text = f"机构 {e.text('agency_id')} 放弃了采购 {e.text('purchase_id')} 的中选：{e.reasons('reason')}。"
    return Told(purchase_page(e), [Notice(e.owner(), f"中选机构放弃：{e.text('agency_id')}", text)])


def _moved_up(e: Event) -> Told:
    purchase, agency, deadline = (
        e.text("purchase_id"),
        e.text("agency_id"),
        e.local_time("confirmation_deadline"),
    )
    owner_text = f"{e.text('previous_agency_id')} 未能中选，候补机构 {agency} 递补，请于 {deadline} 前确认。"
    agency_text = f"您由候补递补为采购 {purchase} 的中选机构，请于 {deadline} 前确认接受或放弃。"
    return Told(
        purchase_page(e),
        [
            Notice(e.owner(), f"候补递补：{purchase}", owner_text),
            Notice(e.agency(), f"您已递补中选：{purchase}", agency_text),
        ],
    )


def _letter(e: Event) -> Told:
    text = f"采购 {e.text('purchase_id')} 的电子中选确认书已出具（编号 {e.text('letter_id')}），可在线核验。"
    title = "电子中选确认书已出具"
    return Told(purchase_page(e), [Notice(e.owner(), title, text), Notice(e.agency(), title, text)])


def _escalated(e: Event) -> Told:
    text = f"采购 {e.text('purchase_id')} 的中选结果到期未确认：{e.reasons('reason')}。"
    return Told(purchase_page(e), [Notice(ADMINS, f"逾期未确认：{e.text('purchase_id')}", text)])


def _flagged(e: Event) -> Told:
    text = f"采购 {e.text('purchase_id')} 的流程未能自动完成，需要人工处理：{e.reasons('reason')}。"
    return Told(purchase_page(e), [Notice(ADMINS, f"流程异常：{e.text('purchase_id')}", text)])


RULES: dict[str, Callable[[Event], Told]] = {
    "PurchaseSubmitted": _submitted,
    "PurchaseReturned": _returned,
    "PurchasePublished": _published,
    "EnrollmentReceived": _enrolled,
    "EnrollmentWithdrawn": _withdrawn,
    "PurchaseFailed": _failed,
    "ResultPublished": _result,
    "BatchSplit": _batch_split,
    "AgencyPicked": _picked,
    "ResultConfirmed": _both(
        "中选结果已确认：{purchase}",
        "您已确认机构 {agency} 中选。",
        "业主已确认您中选采购 {purchase}。",
    ),
    "ResultAccepted": _accepted,
    "ResultAbandoned": _abandoned,
    "ReserveMovedUp": _moved_up,
    "PurchaseConfirmed": _both(
        "采购已确认：{purchase}",
        "双方均已确认，{agency} 为中选机构；请在规定期限内签订合同。",
        "双方均已确认您中选采购 {purchase}；请在规定期限内签订合同。",
    ),
    "LetterIssued": _letter,
    "PurchaseEscalated": _escalated,
    "PurchaseFlagged": _flagged,
}
