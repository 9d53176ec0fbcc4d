"""The demo data set: catalogue items with their legal bases, and project owners, in the API's own
request shapes (`NewItem`, `OwnerProfile`). Legal bases name real statutes; units and people are
made up, and contact details use example domains."""

from __future__ import annotations

from typing import Any

from marketplace.domain.credit_code import complete

ADMIN_ORG = "ADMIN-1"
EFFECTIVE_FROM = "2026-01-01"
MARKET_PRICE = (
    "市场调节价（《国家发展改革委关于放开部分建设项目服务收费标准有关问题的通知》发改价格〔2015〕299号）"
)


def credit_code(authority_and_type: str, division: str, organisation: str) -> str:
    """A valid unified social credit code: 2 + 6 + 8 characters, then both check characters."""
    return complete(authority_and_type + division + organisation)


# The regulating industry of each department's items: regulators with that industry review the
# agencies that offer them.
INDUSTRIES = {
    "杭州市生态环境局": "environment",
    "杭州市应急管理局": "work_safety",
    "杭州市发展和改革委员会": "development",
    "杭州市林业水利局": "water",
    "杭州市规划和自然资源局": "natural_resources",
}


def _item(
    code: str,
    name: str,
    service_type: str,
    legal_basis: list[str],
    power_items: list[str],
    department: str,
    description: str,
    qualification: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "code": code,
        "name": name,
        "service_type": service_type,
        "legal_basis": legal_basis,
        "power_items": power_items,
        "department": department,
        "industry": INDUSTRIES[department],
        "qualification": qualification,
        "pricing": {"mode": "market", "fee_basis": MARKET_PRICE},
        "effective_from": EFFECTIVE_FROM,
        "description": description,
        "change_note": "演示数据",
    }


CATALOGUE_ITEMS: list[dict[str, Any]] = [
    _item(
        "ZJ-HP-001",
        "建设项目环境影响评价文件编制",
        "evaluation",
        [
            "《中华人民共和国环境影响评价法》第十六条、第十九条",
            "《建设项目环境保护管理条例》（国务院令第682号）",
        ],
        ["建设项目环境影响评价文件审批"],
        "杭州市生态环境局",
        "编制建设项目环境影响报告书或报告表。环评机构资质已取消，编制单位须在全国环境影响评价信用平台备案。",
    ),
    _item(
        "ZJ-AP-001",
        "建设项目安全评价（安全预评价）",
        "evaluation",
        ["《中华人民共和国安全生产法》第三十二条", "《危险化学品安全管理条例》（国务院令第591号）第十二条"],
        ["危险化学品建设项目安全条件审查"],
        "杭州市应急管理局",
        "对危险化学品生产、储存建设项目开展安全预评价并出具安全评价报告。",
        {"kind": "certificate", "certificate_type": "安全评价机构资质"},
    ),
    _item(
        "ZJ-JN-001",
        "固定资产投资项目节能评估（节能报告编制）",
        "assessment",
        [
            "《中华人民共和国节约能源法》第十五条",
            "《固定资产投资项目节能审查办法》（国家发展改革委令2023年第2号）",
        ],
        ["固定资产投资项目节能审查"],
        "杭州市发展和改革委员会",
        "对年综合能源消费量达到审查标准的项目编制节能报告。",
    ),
    _item(
        "ZJ-SB-001",
        "生产建设项目水土保持方案编制",
        "consultation",
        ["《中华人民共和国水土保持法》第二十五条", "《生产建设项目水土保持方案管理办法》（水利部令第53号）"],
        ["生产建设项目水土保持方案审批"],
        "杭州市林业水利局",
        "在山区、丘陵区、风沙区及水土保持规划确定的容易发生水土流失的其他区域开办生产建设项目的，编制水土保持方案。",
    ),
    _item(
        "ZJ-DZ-001",
        "建设用地地质灾害危险性评估",
        "assessment",
        ["《地质灾害防治条例》（国务院令第394号）第二十一条", "《浙江省地质灾害防治条例》"],
        ["建设用地预审与选址意见书核发"],
        "杭州市规划和自然资源局",
        "在地质灾害易发区内进行工程建设，在可行性研究阶段进行地质灾害危险性评估。",
        {"kind": "certificate", "certificate_type": "地质灾害危险性评估资质", "min_grade": 2},
    ),
    _item(
        "ZJ-ZJ-001",
        "工程造价咨询（概算审核）",
        "consultation",
        [
            "《中华人民共和国建筑法》",
            "《政府投资条例》（国务院令第712号）第十一条",
            "《建筑工程施工发包与承包计价管理办法》（住房城乡建设部令第16号）",
        ],
        ["政府投资项目初步设计概算审批"],
        "杭州市发展和改革委员会",
        "对政府投资项目初步设计概算进行审核并出具审核报告。",
        {
            "kind": "any_of",
            "requirements": [
                {"kind": "certificate", "certificate_type": "工程造价咨询企业资质", "min_grade": 2},
                {"kind": "certificate", "certificate_type": "工程咨询单位资信", "min_grade": 2},
            ],
        },
    ),
]


# org id (the `custom:org_id` its users' tokens carry) -> the registration it submits.
OWNERS: dict[str, dict[str, Any]] = {
    "OWN-001": {
        "name": "杭州市西湖区住房和城乡建设局",
        "credit_code": credit_code("11", "330106", "00250170"),
        "owner_type": "government_unit",
        "funding_types": ["fiscal"],
        "contacts": [
            {"name": "王建国", "phone": "0571-87650001", "email": "wangjg@example.cn", "role": "项目管理科"},
        ],
        "address": "浙江省杭州市西湖区文三路 100 号",
        "region_code": "330106",
    },
    "OWN-002": {
        "name": "杭州市第一人民医院",
        "credit_code": credit_code("12", "330100", "47000315"),
        "owner_type": "government_unit",
        "funding_types": ["fiscal", "private"],
        "contacts": [
            {"name": "李秀英", "phone": "0571-87650002", "email": "lixy@example.cn", "role": "基建处"},
        ],
        "address": "浙江省杭州市上城区浣纱路 261 号",
        "region_code": "330102",
    },
    "OWN-003": {
        "name": "浙江之江交通建设投资集团有限公司",
        "credit_code": credit_code("91", "330000", "MA27XK3L"),
        "owner_type": "company",
        "funding_types": ["private"],
        "contacts": [
            {"name": "陈立群", "phone": "13800000003", "email": "chenlq@example.com", "role": "工程部经理"},
            {"name": "周敏", "phone": "13800000004", "role": "采购专员"},
        ],
        "address": "浙江省杭州市滨江区江南大道 3688 号",
        "region_code": "330108",
    },
}


def _agency(name: str, organisation: str, representative: str, certificate_number: str) -> dict[str, Any]:
    """An environmental consultancy in Hangzhou offering the environmental-impact item."""
    return {
        "legal_entity": {
            "name": name,
            "credit_code": credit_code("91", "330106", organisation),
            "legal_representative": representative,
            "address": "浙江省杭州市西湖区文三路 90 号",
            "entity_type": "legal_person",
            "region_code": "330106",
        },
        "contacts": [
            {"name": representative, "phone": "13700000001", "email": "contact@example.cn", "role": "总经理"}
        ],
        "certificates": [
            {
                "certificate_type": "环境影响评价信用平台备案",
                "number": certificate_number,
                "issuer": "生态环境部环境工程评估中心",
                "issued_on": "2025-06-01",
                "expires_on": "2030-05-31",
                "file_ref": f"licences/{certificate_number}.pdf",
            }
        ],
        "offerings": [
            {
                "item_code": "ZJ-HP-001",
                "service_content": "编制建设项目环境影响报告书（表）",
                "time_limit_working_days": 20,
                "fee": {"basis": "市场调节价，报告表不高于 3 万元"},
            }
        ],
        "regions": ["330000"],
    }


# Agencies admitted for ZJ-HP-001 (they apply, the admin and an environment regulator approve), so
# that a purchase of that item has enough eligible enrollees to draw from.
AGENCIES: dict[str, dict[str, Any]] = {
    "AG-DEMO-01": _agency("浙江青山环境科技有限公司", "MA2B1C3D", "吴晓东", "HPBA-2025-0101"),
    "AG-DEMO-02": _agency("杭州绿水环保咨询有限公司", "MA2E4F5G", "郑丽", "HPBA-2025-0102"),
    "AG-DEMO-03": _agency("浙江蓝天环境工程设计有限公司", "MA2H6J7K", "冯涛", "HPBA-2025-0103"),
}
REGULATOR_ORG = "RG-ENV-1"
