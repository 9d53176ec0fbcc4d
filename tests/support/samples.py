"""Realistic request bodies for tests."""

from __future__ import annotations

import secrets
from typing import Any

from marketplace.domain.credit_code import ALPHABET, complete


def catalogue_item(code: str = "ZJ-HP-001", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "name": "建设项目环境影响评价",
        "service_type": "assessment",
        "legal_basis": ["《中华人民共和国环境影响评价法》第十六条", "《建设项目环境保护管理条例》第七条"],
        "power_items": ["建设项目环境影响评价文件审批"],
        "department": "市生态环境局",
        "industry": "environment",
        "qualification": {
            "kind": "any_of",
            "requirements": [
                {"kind": "certificate", "certificate_type": "环境影响评价工程师", "min_grade": None},
                {"kind": "certificate", "certificate_type": "环评资质", "min_grade": 2},
            ],
        },
        "pricing": {"mode": "market", "fee_basis": "市场调节价"},
        "effective_from": "2026-01-01",
    }
    body.update(changes)
    return body


def owner_profile(first16: str = "1133010000249611", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "杭州市城市建设发展中心",
        "credit_code": complete(first16),
        "owner_type": "government_unit",
        "funding_types": ["fiscal"],
        "contacts": [
            {"name": "王工", "phone": "0571-87000000", "email": "wang@example.cn", "role": "项目负责人"}
        ],
        "address": "杭州市上城区解放东路18号",
        "region_code": "330102",
    }
    body.update(changes)
    return body


def certificate(number: str = "HP-2026-001", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "certificate_type": "环评资质",
        "number": number,
        "grade": 1,
        "issuer": "浙江省生态环境厅",
        "issued_on": "2025-01-01",
        "expires_on": "2029-12-31",
        "file_ref": f"licences/{number}.pdf",
    }
    body.update(changes)
    return body


def agency_profile(first16: str = "91330106MA2H7Y4K", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "legal_entity": {
            "name": "浙江绿源环境科技有限公司",
            "credit_code": complete(first16),
            "legal_representative": "赵明",
            "address": "杭州市西湖区文三路100号",
            "entity_type": "legal_person",
            "region_code": "330106",
        },
        "contacts": [
            {"name": "钱芳", "phone": "13900000001", "email": "qianf@example.cn", "role": "业务经理"}
        ],
        "practitioners": [
            {
                "name": "孙伟",
                "id_number": "330106198001011234",
                "phone": "13900000002",
                "certificates": [{"certificate_type": "环境影响评价工程师", "number": "HJ-0001"}],
            }
        ],
        "certificates": [certificate()],
        "offerings": [
            {
                "item_code": "ZJ-HP-001",
                "service_content": "编制环境影响报告书（表）",
                "time_limit_working_days": 20,
                "fee": {"basis": "按《建设项目环境影响咨询收费标准》下浮10%"},
            }
        ],
        "regions": ["330100", "330106"],
        "branches": [
            {
                "name": "宁波分公司",
                "address": "宁波市鄞州区天童南路1号",
                "regions": ["330200"],
                "contacts": [{"name": "李强", "phone": "13900000003"}],
            }
        ],
    }
    body.update(changes)
    return body


def unique_credit_code(prefix: str) -> str:
    """A valid credit code no other run uses (tests over HTTP share one stack): `prefix` holds the
    type and the all-digit division, random characters the organisation."""
    return complete(prefix + "".join(secrets.choice(ALPHABET) for _ in range(16 - len(prefix))))


def safety_item() -> dict[str, Any]:
    """A work-safety item: its agencies need the work-safety regulator's review too."""
    return catalogue_item(
        "ZJ-AP-001",
        name="安全预评价",
        service_type="evaluation",
        department="市应急管理局",
        industry="work_safety",
        qualification={"kind": "certificate", "certificate_type": "安全评价资质", "min_grade": 2},
    )


def two_item_profile() -> dict[str, Any]:
    """agency_profile() offering the work-safety item too, with the certificate it needs."""
    profile = agency_profile()
    profile["certificates"].append(
        certificate("AP-2026-007", certificate_type="安全评价资质", grade=2, issuer="浙江省应急管理厅")
    )
    profile["offerings"].append(
        {
            "item_code": "ZJ-AP-001",
            "service_content": "安全预评价报告编制",
            "time_limit_working_days": 15,
            "fee": {"amount_yuan": "30000.00"},
        }
    )
    return profile


CALENDAR_2027 = {
    "region": "CN",
    "year": 2027,
    "source": "国务院办公厅关于2027年部分节假日安排的通知",
    "holidays": [{"date": "2027-01-01", "name": "元旦"}],
    "adjusted_workdays": [{"date": "2027-01-02", "name": "元旦"}],
}


def sqs_record(body: str, message_id: str) -> dict[str, Any]:
    """One SQS record as Lambda receives it from the notifications queue."""
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws-cn:sqs:cn-north-1:123456789012:marketplace-test-notifications",
        "awsRegion": "cn-north-1",
    }
