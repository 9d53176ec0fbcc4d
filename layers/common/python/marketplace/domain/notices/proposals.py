"""What each party is told about a proposal best-value purchase (docs/proposals.md): the proposals
opened for scoring, and a scoring left unfinished at its deadline. The result is told by the
purchase's own notices (ResultPublished). Reviewers are named by their token subjects and inboxes
are kept per organisation, so the owner's inbox carries what its panel must know."""

from __future__ import annotations

from collections.abc import Callable

from marketplace.domain.notices.reading import ADMINS, Event, Notice, Told, agency_inbox, purchase_page


def _opened(e: Event) -> Told:
    purchase, deadline = e.text("purchase_id"), e.local_time("deadline")
    candidates = e.ids("candidates")
    owner_text = (
        f"采购 {purchase} 报名截止，{len(candidates)} 份方案已开启，请您与指定的评审人"
        f"（共 {e.number('panel_size')} 席）在 {deadline} 前逐项评分；评分在结果公布前互不可见。"
    )
    agency_text = f"采购 {purchase} 的方案已开启评审，结果公布时所有评分一并公示。"
    notices = [Notice(e.owner(), f"方案待评分：{purchase}", owner_text)]
    notices += [Notice(agency_inbox(a), f"方案进入评审：{purchase}", agency_text) for a in candidates]
    return Told(f"{purchase_page(e)}/scores", notices)


def _overdue(e: Event) -> Told:
    purchase, deadline = e.text("purchase_id"), e.local_time("deadline")
    seats = "、".join(e.ids("seats_missing"))
    text = f"采购 {purchase} 的方案评分截至 {deadline} 仍缺 {e.number('missing')} 项（{seats}），请督促完成。"
    title = f"方案评分逾期：{purchase}"
    return Told(f"{purchase_page(e)}/scores", [Notice(r, title, text) for r in (e.owner(), ADMINS)])


RULES: dict[str, Callable[[Event], Told]] = {
    "ProposalsOpened": _opened,
    "ProposalScoringOverdue": _overdue,
}
