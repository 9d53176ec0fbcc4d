"""What an agency is told about its admission, its certificates, its items and supervision."""

from __future__ import annotations

from collections.abc import Callable

from marketplace.domain.notices.reading import (
    SUBMISSION_KINDS,
    Event,
    Notice,
    Told,
    agency_page,
)


def _to_agency(title: Callable[[Event], str], text: Callable[[Event], str]) -> Callable[[Event], Told]:
    def told(e: Event) -> Told:
        return Told(agency_page(e), [Notice(e.agency(), title(e), text(e))])

    return told


def _kind(e: Event) -> str:
    return SUBMISSION_KINDS.get(e.text("kind"), e.text("kind"))


def _supervision(e: Event) -> str:
    return f"原因：{e.reasons('reason')}；依据：{e.reasons('basis')}。"


RULES: dict[str, Callable[[Event], Told]] = {
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
