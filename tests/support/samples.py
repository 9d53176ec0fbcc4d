"""Realistic request bodies for tests."""

from __future__ import annotations

from typing import Any

from marketplace.domain.credit_code import complete


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


def owner_profile(first17: str = "11330100002496110", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "杭州市城市建设发展中心",
        "credit_code": complete(first17),
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
