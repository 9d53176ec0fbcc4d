"""Request bodies for the shelf (网上直购) and reward mode (守信激励)."""

from __future__ import annotations

from typing import Any


def shelf_offer(item_code: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "item_code": item_code,
        "regions": ["330100"],
        "price_yuan": "38000.00",
        "time_limit_working_days": 15,
        "included": ["环境影响报告表一份", "现场踏勘一次", "专家评审会一次"],
        "description": "杭州市区小型建设项目环评报告表编制",
    }
    body.update(changes)
    return body


def shelf_purchase(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "project_code": "2026-330106-47-01-000777",
        "title": "西湖区某社区卫生服务站环境影响评价",
        "region": "330106",
        "funding_type": "private",
        "reason": "项目规模小、工期紧，按货架标价直接购买",
    }
    body.update(changes)
    return body
