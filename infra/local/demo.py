"""`--demo`: load the demo data set over HTTP, through the API's own routes and rules, as its users
would. Running it again changes nothing: what is already there answers 409 and is skipped."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.local.demo_data import ADMIN_ORG, AGENCIES, CATALOGUE_ITEMS, OWNERS, REGULATOR_ORG
from infra.local.tokens import mint_token


@dataclass
class DemoReport:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"demo data: {len(self.created)} created, {len(self.existing)} already there"


def _post(url: str, body: dict[str, Any], token: str) -> int:
    request = urllib.request.Request(  # noqa: S310 - the local API's http:// URL
        url,
        data=json.dumps(body, ensure_ascii=False).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        if error.code == 409:
            return 409
        detail = error.read().decode(errors="replace")
        raise RuntimeError(f"POST {url} answered {error.code}: {detail}") from error


def load(api_url: str, state_dir: Path) -> DemoReport:
    report = DemoReport()
    admin = mint_token("admin", ADMIN_ORG, state_dir=state_dir)
    for item in CATALOGUE_ITEMS:
        status = _post(f"{api_url}/catalogue/items", item, admin)
        (report.existing if status == 409 else report.created).append(f"catalogue item {item['code']}")
    for org_id, profile in OWNERS.items():
        status = _post(f"{api_url}/owners", profile, mint_token("owner", org_id, state_dir=state_dir))
        (report.existing if status == 409 else report.created).append(f"owner {org_id}")
    regulator = mint_token("regulator", REGULATOR_ORG, industries=("environment",), state_dir=state_dir)
    for org_id, application in AGENCIES.items():
        status = _post(f"{api_url}/agencies", application, mint_token("agency", org_id, state_dir=state_dir))
        if status == 409:
            report.existing.append(f"agency {org_id}")
            continue
        approve = {"submission": 1, "decision": "approve"}
        for reviewer in (admin, regulator):
            _post(f"{api_url}/agencies/{org_id}/reviews", approve, reviewer)
        report.created.append(f"agency {org_id}")
    return report
