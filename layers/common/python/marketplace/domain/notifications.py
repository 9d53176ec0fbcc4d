"""Notifications (主动推送, DOMAIN.md §11): who is told what about each domain event.

Pure: an event's `detail` goes in, the inbox entries it makes come out. What this module cannot
know is which agencies an event concerns beyond those it names: a new announcement concerns the
agencies admitted for the item and serving the region (an `Audience`, picked from the offering rows
the caller reads); a purchase's result or failure concerns every agency enrolled in it (its
`Enrollees`, told from the enrollment rows the caller reads).

Inboxes are keyed by recipient: `org:<org id>` for an owner's or an agency's organisation, and
one shared `role:admin` inbox that every admin reads. The prefixes keep an organisation that
happens to be called "admin" out of the admins' inbox.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from marketplace.domain.model import Model
from marketplace.domain.regions import serves

ADMINS = "role:admin"
# AgencyStatus.admitted, named here so that the consumer does not import the agency models
# (a cold-start cost) to read one value; a unit test keeps the two equal.
ADMITTED = "admitted"
# EnrollmentStatus.enrolled (a withdrawn enrollment is no longer concerned), for the same reason.
ENROLLED = "enrolled"
MAX_TITLE = 120
MAX_TEXT = 600
# `<UTC instant, microseconds>-<digest>`: sorting ids sorts entries by when their event happened.
ID_PATTERN = r"^[0-9]{8}T[0-9]{12}Z-[0-9a-f]{20}$"
FUNDING = {"fiscal": "财政资金", "private": "自有资金"}
SUBMISSION_KINDS = {"admission": "入驻", "change": "变更", "extension": "延期"}


class MalformedEvent(ValueError):
    """The message is not a domain event this consumer understands: retrying cannot help."""


def owner_inbox(owner_id: str) -> str:
    return f"owner:{owner_id}"


def agency_inbox(agency_id: str) -> str:
    return f"agency:{agency_id}"


def regulator_inbox(regulator_id: str) -> str:
    return f"regulator:{regulator_id}"


def industry_inbox(industry: str) -> str:
    """The regulators of an industry, together (a complaint is for whichever of them decides it)."""
    return f"industry:{industry}"


def inbox_of(role: str, org_id: str) -> str:
    """The inbox a caller reads: admins share one; everyone else reads its organisation's in its
    role. Nothing makes owner and agency ids disjoint (a department may buy and regulate): an inbox
    keyed by the id alone would be shared by both."""
    return ADMINS if role == "admin" else f"{role}:{org_id}"


class Notification(Model):
    """One inbox entry as its reader sees it."""

    notification_id: str
    event_type: str
    title: str
    text: str
    subject: str
    link: str
    occurred_at: str
    read: bool
    read_at: str | None = None


@dataclass(frozen=True)
class Notice:
    """What one recipient is told."""

    recipient: str
    title: str
    text: str


@dataclass(frozen=True)
class Audience:
    """Every agency admitted for `item_code`, not suspended from it, that serves `region`."""

    item_code: str
    region: str
    title: str
    text: str
    excluded: frozenset[str] = frozenset()  # the owner's exclusions (回避): never invited


@dataclass(frozen=True)
class OfferHolder:
    """An agency's offering of an item, as the item index holds it."""

    agency_id: str
    status: str
    regions: tuple[str, ...]
    suspended: bool


@dataclass(frozen=True)
class Enrollees:
    """Every agency still enrolled in `purchase_id` that no notice of the event names already (the
    selected agency, the short list, the reserves) is told `title` and `text`; one whose enrollment
    did not count when enrollment closed also learns why it took no part."""

    purchase_id: str
    title: str
    text: str


@dataclass(frozen=True)
class Enrollee:
    """An agency's enrollment in a purchase, as its row holds it."""

    agency_id: str
    status: str
    counted: bool | None = None  # whether it counted when enrollment closed; None: not judged yet
    why_not: str | None = None


@dataclass(frozen=True)
class Plan:
    """The notifications one event makes: `notices` for named recipients, `audience` and
    `enrollees` to resolve."""

    event_id: str
    event_type: str
    subject: str
    link: str
    occurred_at: str
    notices: tuple[Notice, ...]
    audience: Audience | None = None
    enrollees: Enrollees | None = None


@dataclass(frozen=True)
class InboxEntry:
    """An entry to write. Its id derives from the event and the recipient alone, so a redelivered
    event yields the same key and a conditional put adds nothing."""

    recipient: str
    notification_id: str
    event_id: str
    event_type: str
    title: str
    text: str
    subject: str
    link: str
    occurred_at: str


def notification_id(event_id: str, recipient: str, occurred_at: str) -> str:
    digest = hashlib.sha256(f"{event_id}\n{recipient}".encode()).hexdigest()[:20]
    return f"{_instant(occurred_at).strftime('%Y%m%dT%H%M%S%fZ')}-{digest}"


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedEvent(f"occurred_at {text!r} is not an ISO-8601 instant") from exc
    if value.tzinfo is None:
        raise MalformedEvent(f"occurred_at {text!r} carries no time zone")
    return value.astimezone(UTC)


def detail_of(body: str) -> dict[str, Any]:
    """The domain event's detail from an SQS message body (the EventBridge event, as a rule sends it)."""
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise MalformedEvent("the message body is not JSON") from exc
    detail = document.get("detail") if isinstance(document, dict) else None
    if not isinstance(detail, dict):
        raise MalformedEvent("the message carries no event detail")
    return detail


def audience_members(audience: Audience, holders: Iterable[OfferHolder]) -> list[Notice]:
    """The agencies an announcement concerns, each told once."""
    chosen = {
        h.agency_id
        for h in holders
        if h.status == ADMITTED
        and not h.suspended
        and h.agency_id not in audience.excluded
        and serves(list(h.regions), audience.region)
    }
    return [Notice(agency_inbox(a), audience.title, audience.text) for a in sorted(chosen)]


def enrollee_notices(plan: Plan, enrolled: Iterable[Enrollee]) -> list[Notice]:
    """What each agency enrolled in the purchase is told when the event names it in no notice."""
    if plan.enrollees is None:
        return []
    told = {n.recipient for n in plan.notices}
    notices: list[Notice] = []
    for enrollee in sorted(enrolled, key=lambda e: e.agency_id):
        recipient = agency_inbox(enrollee.agency_id)
        if enrollee.status != ENROLLED or recipient in told:
            continue
        told.add(recipient)
        text = plan.enrollees.text
        if enrollee.counted is False:
            why = f"（{enrollee.why_not}）" if enrollee.why_not else ""
            text += f"您的报名在报名截止时未计入有效报名{why}，未参加选取。"
        notices.append(Notice(recipient, plan.enrollees.title, text))
    return notices


def entries(plan: Plan, notices: Iterable[Notice]) -> list[InboxEntry]:
    """One entry per recipient (the first notice for a recipient wins)."""
    seen: dict[str, Notice] = {}
    for notice in notices:
        seen.setdefault(notice.recipient, notice)
    return [
        InboxEntry(
            recipient=n.recipient,
            notification_id=notification_id(plan.event_id, n.recipient, plan.occurred_at),
            event_id=plan.event_id,
            event_type=plan.event_type,
            title=_clip(n.title, MAX_TITLE),
            text=_clip(n.text, MAX_TEXT),
            subject=plan.subject,
            link=plan.link,
            occurred_at=plan.occurred_at,
        )
        for n in seen.values()
    ]


def _clip(text: str, limit: int) -> str:
    # Titles and reasons come from other people's input: bound what an inbox row can hold.
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- Reading an event ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Event:
    data: dict[str, Any]
    timezone: str

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if not isinstance(value, str) or not value:
            raise MalformedEvent(f"data.{key} must be a non-empty string")
        return value

    def optional(self, key: str) -> str | None:
        value = self.data.get(key)
        return value if isinstance(value, str) and value else None

    def number(self, key: str) -> int:
        value = self.data.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise MalformedEvent(f"data.{key} must be an integer")
        return value

    def ids(self, key: str) -> list[str]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise MalformedEvent(f"data.{key} must be a list of ids")
        return value

    def reasons(self, key: str) -> str:
        """A reason given as text or as a list of texts (agency reviews give a list)."""
        value = self.data.get(key)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return "；".join(value)
        if not isinstance(value, str):
            raise MalformedEvent(f"data.{key} must be a text or a list of texts")
        return value

    def local_time(self, key: str) -> str:
        """A deadline as the region's people read it (times are stored in UTC)."""
        return _instant(self.text(key)).astimezone(ZoneInfo(self.timezone)).strftime("%Y-%m-%d %H:%M")

    def owner(self) -> str:
        return owner_inbox(self.text("owner_id"))

    def agency(self) -> str:
        return agency_inbox(self.text("agency_id"))


@dataclass(frozen=True)
class _Told:
    link: str
    notices: list[Notice] = field(default_factory=list)
    audience: Audience | None = None
    enrollees: Enrollees | None = None


def _purchase(e: _Event) -> str:
    return f"/purchases/{e.text('purchase_id')}"


def _agency_page(e: _Event) -> str:
    return f"/agencies/{e.text('agency_id')}"


# --- Purchases ----------------------------------------------------------------------------------


def _submitted(e: _Event) -> _Told:
    told = _Told(_purchase(e))
    if e.data.get("needs_review") is True:
        funding = FUNDING.get(e.text("funding_type"), e.text("funding_type"))
        project = e.text("project_code")
        text = f"业主 {e.text('owner_id')} 提交了采购申请（项目代码 {project}，{funding}），请审核。"
        told.notices.append(Notice(ADMINS, f"待审核采购：{project}", text))
    return told


def _returned(e: _Event) -> _Told:
    text = f"采购 {e.text('purchase_id')} 的申请被退回：{e.reasons('reasons')}。修改后可重新提交。"
    return _Told(_purchase(e), [Notice(e.owner(), "采购申请被退回", text)])


def _published(e: _Event) -> _Told:
    title = e.text("title")
    again = "（重新公告）" if e.optional("reannounces") else ""
    if e.optional("method") == "direct":
        # No one enrolls in a direct selection: the chosen agency hears of it with the result.
        text = f"您的直接选取公告已发布{again}，选取理由随结果公示。"
        return _Told(_purchase(e), [Notice(e.owner(), f"采购公告已发布：{title}", text)])
    deadline = e.local_time("enrollment_deadline")
    text = f"事项 {e.text('item_code')}，项目代码 {e.text('project_code')}{again}，报名截止 {deadline}。"
    owner_text = f"您的采购公告已发布{again}，报名截止 {deadline}。"
    return _Told(
        _purchase(e),
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


def _enrolled(e: _Event) -> _Told:
    count = e.number("enrollments")
    text = f"采购 {e.text('purchase_id')} 收到一家机构报名，目前共 {count} 家报名；名单在报名截止后公开。"
    return _Told(_purchase(e), [Notice(e.owner(), "收到报名", text)])


def _withdrawn(e: _Event) -> _Told:
    count = e.number("enrollments")
    text = f"一家机构撤销了对采购 {e.text('purchase_id')} 的报名，目前共 {count} 家报名。"
    return _Told(_purchase(e), [Notice(e.owner(), "报名已撤销", text)])


def _failed(e: _Event) -> _Told:
    purchase, eligible, minimum = e.text("purchase_id"), e.number("eligible"), e.number("minimum")
    if eligible < minimum:
        why = f"有效报名 {eligible} 家，少于最低 {minimum} 家（{e.reasons('reason')}）。"
    else:  # enough enrolled, but the selected agency abandoned with no reserve left to move up
        why = f"未能确定中选机构（{e.reasons('reason')}）。"
    title = f"采购未成交：{purchase}"
    return _Told(
        _purchase(e),
        [Notice(e.owner(), title, f"{why}可一键重新公告。")],
        enrollees=Enrollees(purchase, title, f"您报名的采购 {purchase} 未成交：{why}"),
    )


def _result(e: _Event) -> _Told:
    purchase, deadline = e.text("purchase_id"), e.local_time("confirmation_deadline")
    selected, short_list = e.optional("selected_agency"), e.ids("short_list")
    if selected:
        owner_text = f"中选机构为 {selected}，请于 {deadline} 前确认。"
    else:
        owner_text = f"入围机构：{'、'.join(short_list)}，请于 {deadline} 前选定一家。"
    notices = [Notice(e.owner(), f"选取结果已公布：{purchase}", owner_text)]
    if selected:
        text = f"您在采购 {purchase} 中选，请于 {deadline} 前确认接受或放弃。"
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
    return _Told(_purchase(e), notices, enrollees=others)


def _picked(e: _Event) -> _Told:
    purchase, agency, deadline = (
        e.text("purchase_id"),
        e.text("agency_id"),
        e.local_time("confirmation_deadline"),
    )
    return _Told(
        _purchase(e),
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


def _both(title: str, owner_text: str, agency_text: str) -> Callable[[_Event], _Told]:
    """Owner and agency told the same news, each from their side."""

    def told(e: _Event) -> _Told:
        values = {"purchase": e.text("purchase_id"), "agency": e.text("agency_id")}
        heading = title.format(**values)
        return _Told(
            _purchase(e),
            [
                Notice(e.owner(), heading, owner_text.format(**values)),
                Notice(e.agency(), heading, agency_text.format(**values)),
            ],
        )

    return told


def _accepted(e: _Event) -> _Told:
    text = f"机构 {e.text('agency_id')} 已接受采购 {e.text('purchase_id')} 的中选。"
    return _Told(_purchase(e), [Notice(e.owner(), f"中选机构已接受：{e.text('agency_id')}", text)])


def _abandoned(e: _Event) -> _Told:
    text = f"机构 {e.text('agency_id')} 放弃了采购 {e.text('purchase_id')} 的中选：{e.reasons('reason')}。"
    return _Told(_purchase(e), [Notice(e.owner(), f"中选机构放弃：{e.text('agency_id')}", text)])


def _moved_up(e: _Event) -> _Told:
    purchase, agency, deadline = (
        e.text("purchase_id"),
        e.text("agency_id"),
        e.local_time("confirmation_deadline"),
    )
    owner_text = f"{e.text('previous_agency_id')} 未能中选，候补机构 {agency} 递补，请于 {deadline} 前确认。"
    agency_text = f"您由候补递补为采购 {purchase} 的中选机构，请于 {deadline} 前确认接受或放弃。"
    return _Told(
        _purchase(e),
        [
            Notice(e.owner(), f"候补递补：{purchase}", owner_text),
            Notice(e.agency(), f"您已递补中选：{purchase}", agency_text),
        ],
    )


def _letter(e: _Event) -> _Told:
    text = f"采购 {e.text('purchase_id')} 的电子中选确认书已出具（编号 {e.text('letter_id')}），可在线核验。"
    title = "电子中选确认书已出具"
    return _Told(_purchase(e), [Notice(e.owner(), title, text), Notice(e.agency(), title, text)])


def _escalated(e: _Event) -> _Told:
    text = f"采购 {e.text('purchase_id')} 的中选结果到期未确认：{e.reasons('reason')}。"
    return _Told(_purchase(e), [Notice(ADMINS, f"逾期未确认：{e.text('purchase_id')}", text)])


def _flagged(e: _Event) -> _Told:
    text = f"采购 {e.text('purchase_id')} 的流程未能自动完成，需要人工处理：{e.reasons('reason')}。"
    return _Told(_purchase(e), [Notice(ADMINS, f"流程异常：{e.text('purchase_id')}", text)])


def _contract(e: _Event) -> str:
    return f"/purchases/{e.text('purchase_id')}/contract"


def _contract_registered(e: _Event) -> _Told:
    purchase, deadline = e.text("purchase_id"), e.local_time("deadline")
    again = "（替换此前登记的合同）" if e.data.get("replaces") is True else ""
    amount = e.text("amount_yuan")
    text = f"业主已登记采购 {purchase} 的合同{again}，金额 {amount} 元，请于 {deadline} 前签署或拒绝。"
    return _Told(_contract(e), [Notice(e.agency(), f"合同待签署：{purchase}", text)])


def _contract_signed(e: _Event) -> _Told:
    purchase = e.text("purchase_id")
    title = f"合同已签订：{purchase}"
    owner_text = (
        f"机构 {e.text('agency_id')} 已签署采购 {purchase} 的合同（签订日期 {e.text('signed_on')}）。"
    )
    agency_text = f"您已签署采购 {purchase} 的合同（签订日期 {e.text('signed_on')}），请按约履行。"
    return _Told(_contract(e), [Notice(e.owner(), title, owner_text), Notice(e.agency(), title, agency_text)])


def _contract_refused(e: _Event) -> _Told:
    purchase = e.text("purchase_id")
    reasons = e.reasons("reasons")
    text = f"机构 {e.text('agency_id')} 拒绝签署采购 {purchase} 的合同：{reasons}。您可在期限内重新登记合同。"
    return _Told(_contract(e), [Notice(e.owner(), f"合同被拒签：{purchase}", text)])


def _contract_reminder(e: _Event) -> _Told:
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
    return _Told(_contract(e), [Notice(e.owner(), title, owner_text), Notice(e.agency(), title, agency_text)])


def _contract_escalated(e: _Event) -> _Told:
    purchase = e.text("purchase_id")
    fault = "机构未按时签署" if e.text("at_fault") == "agency" else "业主未按时登记合同"
    text = f"采购 {purchase} 到期未签订合同（{fault}）：{e.reasons('reason')}。"
    title = f"逾期未签订合同：{purchase}"
    return _Told(
        _contract(e),
        [Notice(ADMINS, title, text), Notice(e.owner(), title, text), Notice(e.agency(), title, text)],
    )


def _credit(e: _Event) -> _Told:
    points = e.number("points")
    about = f"（采购 {e.optional('purchase_id')}）" if e.optional("purchase_id") else ""
    text = f"{e.reasons('reason')}{about}"
    return _Told(
        f"/agencies/{e.text('agency_id')}/credit",
        [Notice(e.agency(), f"信用记录：{points:+d} 分", text)],
    )


# --- Performance and evaluation (domain/performance.py) -----------------------------------------


def _delivered(e: _Event) -> _Told:
    purchase, deadline = e.text("purchase_id"), e.local_time("completion_deadline")
    again = "（重新交付）" if e.number("reports") > 1 else ""
    late = "，已超过承诺时限" if e.data.get("late") is True else ""
    owner_text = (
        f"机构 {e.text('agency_id')} 报告已完成服务{again}（报告编号 {e.text('report_number')}{late}）。"
        f"请于 {deadline} 前确认完成或提出异议；逾期未答复视为确认完成。"
    )
    agency_text = f"您已报告采购 {purchase} 的服务完成{again}{late}；业主将于 {deadline} 前确认。"
    return _Told(
        _purchase(e),
        [
            Notice(e.owner(), f"服务已交付：{purchase}", owner_text),
            Notice(e.agency(), f"交付已报告：{purchase}", agency_text),
        ],
    )


def _disputed(e: _Event) -> _Told:
    purchase = e.text("purchase_id")
    text = (
        f"业主对采购 {purchase} 的交付（报告编号 {e.text('report_number')}）提出异议："
        f"{e.reasons('reasons')}。请处理后重新报告交付。"
    )
    return _Told(_purchase(e), [Notice(e.agency(), f"交付有异议：{purchase}", text)])


def _completed(e: _Event) -> _Told:
    purchase = e.text("purchase_id")
    how = "业主逾期未答复，视为确认完成" if e.data.get("accepted_by_silence") is True else "业主已确认完成"
    return _Told(
        _purchase(e),
        [
            Notice(e.owner(), f"采购已完成：{purchase}", f"{how}。请对服务进行评价。"),
            Notice(e.agency(), f"采购已完成：{purchase}", f"{how}。"),
        ],
    )


def _evaluated(e: _Event) -> _Told:
    purchase = e.text("purchase_id")
    who = "业主" if e.text("rater") == "owner" else "行业主管部门"
    average = e.data.get("average")
    score = f"{average:g}" if isinstance(average, int | float) else "?"
    text = f"{who}对采购 {purchase} 的服务作出评价：平均 {score} 分（满分 5 分）。评价已公开。"
    notices = [Notice(e.agency(), f"收到服务评价：{purchase}", text)]
    if e.text("rater") == "regulator":
        notices.append(Notice(e.owner(), f"主管部门已评价：{purchase}", text))
    return _Told(f"/purchases/{purchase}/evaluations", notices)


def _credit_level(e: _Event) -> _Told:
    before = e.optional("previous_level")
    level = f"{before} → {e.text('level')}" if before else e.text("level")
    text = f"信用分 {e.number('score')}，等级 {level}（记录到期后重新计算）。"
    return _Told(f"/agencies/{e.text('agency_id')}/credit", [Notice(e.agency(), "信用等级变化", text)])


def _blacklist_lifted(e: _Event) -> _Told:
    text = f"黑名单期限已于 {e.text('blacklisted_until')} 届满，限制自动解除。"
    return _Told(f"/agencies/{e.text('agency_id')}/credit", [Notice(e.agency(), "黑名单已解除", text)])


def _credit_page(e: _Event) -> str:
    return f"/agencies/{e.text('agency_id')}/credit"


def _regulator(e: _Event) -> list[str]:
    regulator = e.optional("regulator_id")
    return [regulator_inbox(regulator)] if regulator else []


def _blacklisted(e: _Event) -> _Told:
    agency, until = e.text("agency_id"), e.local_time("until")
    items = "、".join(e.ids("items")) or "无"
    text = (
        f"因严重失信（{e.reasons('reason')}；依据：{e.reasons('basis')}），"
        f"机构 {agency} 被列入黑名单至 {until}，"
        f"期间不得报名、申请入驻或变更，已清退的服务事项：{items}。期满自动解除。"
    )
    title = f"列入黑名单：{agency}"
    recipients = [e.agency(), ADMINS, *_regulator(e)]
    return _Told(_credit_page(e), [Notice(r, title, text) for r in recipients])


def _readmitted(e: _Event) -> _Told:
    agency = e.text("agency_id")
    items = "、".join(e.ids("items")) or "无"
    text = f"机构 {agency} 的黑名单已解除（{e.reasons('reason')}），恢复的服务事项：{items}。"
    title = f"服务事项已恢复（黑名单解除）：{agency}"
    return _Told(_credit_page(e), [Notice(r, title, text) for r in (e.agency(), ADMINS)])


def _appeal_filed(e: _Event) -> _Told:
    agency, credit_event = e.text("agency_id"), e.text("credit_event_id")
    points = e.number("points")
    text = f"机构 {agency} 对信用记录 {credit_event}（{points:+d} 分）申请信用修复：{e.reasons('reasons')}。"
    title = f"信用修复申请：{agency}"
    notices = [Notice(ADMINS, title, text + "请处理。")]
    notices += [Notice(r, title, text) for r in _regulator(e)]
    return _Told(f"/credit/events/{credit_event}/appeal", notices)


def _appeal_decided(e: _Event) -> _Told:
    credit_event = e.text("credit_event_id")
    if e.text("decision") == "revoke":
        outcome = f"信用记录 {credit_event} 已撤销（以抵销记录 {e.text('revocation_event_id')} 冲正）"
    else:
        outcome = f"信用记录 {credit_event} 维持"
    text = f"{outcome}：{e.reasons('reasons')}。"
    title = f"信用修复决定：{credit_event}"
    return _Told(_credit_page(e), [Notice(r, title, text) for r in (e.agency(), *_regulator(e))])


# --- Challenges and complaints (质疑投诉) -----------------------------------------------------------
# The public never reads these: the challenger is named to the owner, the regulators and the admin.


SUBJECTS = {"announcement": "采购公告", "result": "选取结果"}


def _subject(e: _Event) -> str:
    return SUBJECTS.get(e.text("subject"), e.text("subject"))


def _challenge_filed(e: _Event) -> _Told:
    purchase, deadline = e.text("purchase_id"), e.local_time("answer_deadline")
    owner_text = (
        f"机构 {e.text('agency_id')} 对采购 {purchase} 的{_subject(e)}提出质疑，请于 {deadline} 前答复。"
    )
    agency_text = f"您对采购 {purchase} 的{_subject(e)}的质疑已提交，业主应于 {deadline} 前答复。"
    return _Told(
        _purchase(e),
        [
            Notice(e.owner(), f"收到质疑：{purchase}", owner_text),
            Notice(e.agency(), f"质疑已提交：{purchase}", agency_text),
        ],
    )


def _challenge_answered(e: _Event) -> _Told:
    purchase = e.text("purchase_id")
    accepted = e.text("decision") == "accept"
    verdict = "接受" if accepted else "驳回"
    text = f"业主{verdict}了您对采购 {purchase} 的{_subject(e)}的质疑：{e.reasons('answer')}。"
    if not accepted and e.optional("complaint_deadline"):
        text += f"如不满意，可于 {e.local_time('complaint_deadline')} 前向行业监管部门投诉。"
    owner_text = f"您已{verdict}机构 {e.text('agency_id')} 对采购 {purchase} 的质疑。"
    return _Told(
        _purchase(e),
        [
            Notice(e.agency(), f"质疑已答复：{purchase}", text),
            Notice(e.owner(), f"质疑已答复：{purchase}", owner_text),
        ],
    )


def _challenge_escalated(e: _Event) -> _Told:
    purchase = e.text("purchase_id")
    deadline = e.local_time("complaint_deadline")
    admin_text = (
        f"业主 {e.text('owner_id')} 未在期限内答复机构 {e.text('agency_id')} 对采购 {purchase} 的质疑。"
    )
    agency_text = f"业主未在期限内答复您对采购 {purchase} 的质疑；您可于 {deadline} 前向行业监管部门投诉。"
    owner_text = f"您未在期限内答复采购 {purchase} 的质疑，已报管理员。"
    return _Told(
        _purchase(e),
        [
            Notice(ADMINS, f"质疑逾期未答复：{purchase}", admin_text),
            Notice(e.agency(), f"质疑逾期未答复：{purchase}", agency_text),
            Notice(e.owner(), f"质疑逾期未答复：{purchase}", owner_text),
        ],
    )


def _complaint_filed(e: _Event) -> _Told:
    purchase = e.text("purchase_id")
    text = (
        f"机构 {e.text('agency_id')} 就采购 {purchase} 的{_subject(e)}投诉：{e.reasons('reasons')}。请处理。"
    )
    title = f"收到投诉：{purchase}"
    return _Told(
        _purchase(e),
        [
            Notice(industry_inbox(e.text("industry")), title, text),
            Notice(ADMINS, title, text),
            Notice(
                e.owner(), title, f"机构 {e.text('agency_id')} 就采购 {purchase} 的质疑答复向监管部门投诉。"
            ),
            Notice(e.agency(), f"投诉已提交：{purchase}", f"您就采购 {purchase} 的投诉已提交监管部门。"),
        ],
    )


def _complaint_decided(e: _Event) -> _Told:
    purchase = e.text("purchase_id")
    verdict = "投诉成立" if e.text("decision") == "uphold" else "投诉驳回"
    text = f"采购 {purchase} 的投诉处理结果：{verdict}。{e.reasons('reasons')}。"
    title = f"{verdict}：{purchase}"
    return _Told(
        _purchase(e),
        [Notice(e.agency(), title, text), Notice(e.owner(), title, text), Notice(ADMINS, title, text)],
    )


def _suspended(e: _Event) -> _Told:
    purchase = e.text("purchase_id")
    text = f"采购 {purchase} 因质疑暂停，计时停止；恢复后按剩余时间继续。"
    title = f"采购暂停：{purchase}"
    return _Told(
        _purchase(e),
        [
            Notice(e.owner(), title, f"{text}请修正后恢复，或取消采购。"),
            Notice(ADMINS, title, text),
        ],
        enrollees=Enrollees(purchase, title, f"{text}暂停期间不能报名或撤销报名。"),
    )


def _resumed(e: _Event) -> _Told:
    purchase, status = e.text("purchase_id"), e.text("status")
    if status == "enrollment_open":
        text = f"采购 {purchase} 已恢复，报名截止顺延至 {e.local_time('enrollment_deadline')}。"
    elif status == "enrollment_closed":
        text = f"采购 {purchase} 已恢复，选取时间顺延至 {e.local_time('selection_time')}。"
    else:
        text = f"采购 {purchase} 已恢复，确认截止顺延至 {e.local_time('confirmation_deadline')}。"
    note = e.optional("note")
    text += f"业主说明：{note}" if note else ""
    title = f"采购恢复：{purchase}"
    return _Told(
        _purchase(e),
        [Notice(e.owner(), title, text), Notice(ADMINS, title, text)],
        enrollees=Enrollees(purchase, title, text),
    )


def _cancelled(e: _Event) -> _Told:
    purchase = e.text("purchase_id")
    text = f"采购 {purchase} 已取消：{e.reasons('reason')}。"
    title = f"采购取消：{purchase}"
    return _Told(
        _purchase(e),
        [Notice(e.owner(), title, text), Notice(ADMINS, title, text)],
        enrollees=Enrollees(purchase, title, text),
    )


def _annulled(e: _Event) -> _Told:
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
    return _Told(_purchase(e), notices, enrollees=others)


# --- Agencies -----------------------------------------------------------------------------------


def _to_agency(title: Callable[[_Event], str], text: Callable[[_Event], str]) -> Callable[[_Event], _Told]:
    def told(e: _Event) -> _Told:
        return _Told(_agency_page(e), [Notice(e.agency(), title(e), text(e))])

    return told


def _kind(e: _Event) -> str:
    return SUBMISSION_KINDS.get(e.text("kind"), e.text("kind"))


def _supervision(e: _Event) -> str:
    return f"原因：{e.reasons('reason')}；依据：{e.reasons('basis')}。"


RULES: dict[str, Callable[[_Event], _Told]] = {
    "PurchaseSubmitted": _submitted,
    "PurchaseReturned": _returned,
    "PurchasePublished": _published,
    "EnrollmentReceived": _enrolled,
    "EnrollmentWithdrawn": _withdrawn,
    "PurchaseFailed": _failed,
    "ResultPublished": _result,
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
    "CreditEventRecorded": _credit,
    "CreditLevelChanged": _credit_level,
    "BlacklistLifted": _blacklist_lifted,
    "AgencyBlacklisted": _blacklisted,
    "AgencyReadmitted": _readmitted,
    "CreditAppealFiled": _appeal_filed,
    "CreditAppealDecided": _appeal_decided,
    "ContractRegistered": _contract_registered,
    "ContractSigned": _contract_signed,
    "ContractRefused": _contract_refused,
    "ContractReminder": _contract_reminder,
    "ContractEscalated": _contract_escalated,
    "DeliveryReported": _delivered,
    "DeliveryDisputed": _disputed,
    "PurchaseCompleted": _completed,
    "EvaluationRecorded": _evaluated,
    "ChallengeFiled": _challenge_filed,
    "ChallengeAnswered": _challenge_answered,
    "ChallengeEscalated": _challenge_escalated,
    "ComplaintFiled": _complaint_filed,
    "ComplaintDecided": _complaint_decided,
    "PurchaseSuspended": _suspended,
    "PurchaseResumed": _resumed,
    "PurchaseCancelled": _cancelled,
    "ResultAnnulled": _annulled,
    "AgencyAdmitted": _to_agency(
        lambda e: "入驻申请已通过",
        lambda e: f"{e.text('name')} 已入驻，可承接事项：{'、'.join(e.ids('items'))}。",
    ),
    "AgencyRejected": _to_agency(
        lambda e: f"{_kind(e)}申请被退回",
        lambda e: f"第 {e.number('submission')} 次提交被退回：{e.reasons('reasons')}。修改后可重新提交。",
    ),
    "AgencyChanged": _to_agency(
        lambda e: "变更已生效",
        lambda e: f"{e.text('name')} 的第 {e.number('record_version')} 版入驻信息已生效。",
    ),
    "CertificateExpiring": _to_agency(
        lambda e: f"资质证书即将到期：{e.text('certificate_type')}",
        lambda e: (
            f"证书 {e.text('certificate_number')} 将于 {e.text('expires_on')} 到期（剩余 "
            f"{e.number('days_left')} 天），到期后相关事项将暂停，请及时申请延期。"
        ),
    ),
    "ItemSuspended": _to_agency(
        lambda e: f"服务事项已暂停：{e.text('item_code')}",
        lambda e: f"{e.reasons('reason')}。恢复有效资质后自动恢复。",
    ),
    "ItemRestored": _to_agency(
        lambda e: f"服务事项已恢复：{e.text('item_code')}",
        lambda e: f"{e.reasons('reason')}。",
    ),
    "AgencySuspended": _to_agency(lambda e: "机构已被暂停", _supervision),
    "AgencyExpelled": _to_agency(lambda e: "机构已被清退", _supervision),
    "AgencyReinstated": _to_agency(lambda e: "机构已恢复", _supervision),
}
NOTIFIED_TYPES = tuple(RULES)


def plan(detail: dict[str, Any], *, timezone: str) -> Plan | None:
    """The notifications an event makes; None for an event no one is told about."""
    event_type = detail.get("event_type")
    rule = RULES.get(event_type) if isinstance(event_type, str) else None
    if rule is None:
        return None
    envelope = _Event(detail, timezone)
    data = detail.get("data")
    if not isinstance(data, dict):
        raise MalformedEvent("the event carries no data")
    told = rule(_Event(data, timezone))
    occurred_at = envelope.text("occurred_at")
    _instant(occurred_at)
    return Plan(
        event_id=envelope.text("event_id"),
        event_type=str(event_type),
        subject=envelope.text("subject"),
        link=told.link,
        occurred_at=occurred_at,
        notices=tuple(told.notices),
        audience=told.audience,
        enrollees=told.enrollees,
    )
