"""What random inspections (双随机、一公开) tell: the drawn agencies that they are to be inspected,
the agency its result, and the planning regulator the draw."""

from __future__ import annotations

from collections.abc import Callable

from marketplace.domain.notices.reading import Event, Notice, Told, agency_inbox, regulators


def _page(e: Event) -> str:
    return f"/inspections/{e.text('inspection_id')}"


def _drawn(e: Event) -> Told:
    inspection, title = e.text("inspection_id"), e.text("title")
    agencies = e.ids("agencies")
    text = (
        f"您被随机抽取为“{title}”（{inspection}）的检查对象，检查人员由随机抽取的执法人员组成"
        f"（执法证号：{'、'.join(e.ids('inspectors'))}）。抽取结果及验证数据已公开。"
    )
    notices = [Notice(agency_inbox(a), f"双随机抽查：{title}", text) for a in agencies]
    summary = f"“{title}”已完成抽取：检查对象 {'、'.join(agencies)}。"
    notices += [Notice(r, f"抽查已抽取：{title}", summary) for r in regulators(e)]
    return Told(_page(e), notices)


def _result(e: Event) -> Told:
    title = e.text("title")
    if e.text("outcome") == "passed":
        text = f"“{title}”检查结果：未发现问题。结果已公开。"
    else:
        problems, deadline = e.number("problems"), e.local_time("correct_by")
        text = f"“{title}”检查结果：发现问题 {problems} 项，请于 {deadline} 前完成整改。"
        if e.optional("credit_event_id"):
            text += "已记入信用记录。"
        text += "结果已公开。"
    return Told(_page(e), [Notice(e.agency(), f"抽查结果：{title}", text)])


RULES: dict[str, Callable[[Event], Told]] = {
    "InspectionDrawn": _drawn,
    "InspectionResultRecorded": _result,
}
