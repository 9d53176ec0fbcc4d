"""What the end-to-end tests share: a small HTTP client, admitting an agency through the real
review routes, and waiting for what the stack does by itself."""

from __future__ import annotations

import time
from typing import Any

import requests

from tests.support.samples import agency_profile, unique_credit_code


class Client:
    def __init__(self, api: str, token: str | None = None) -> None:
        self.api = api
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str) -> requests.Response:
        return requests.get(self.api + path, headers=self.headers, timeout=15)

    def post(self, path: str, body: Any = None) -> requests.Response:
        return requests.post(self.api + path, json=body, headers=self.headers, timeout=15)

    def put(self, path: str, body: Any = None) -> requests.Response:
        return requests.put(self.api + path, json=body, headers=self.headers, timeout=15)


def admit(stack: Any, agency: str, item: str) -> None:
    """Apply for `item` as `agency` and have the admin and the environment regulator approve."""
    profile = agency_profile()
    profile["legal_entity"]["credit_code"] = unique_credit_code("91330106")
    profile["legal_entity"]["name"] = f"浙江测试环境咨询有限公司{agency[-2:]}"
    profile["offerings"][0]["item_code"] = item
    applicant = Client(stack.api, stack.token("agency", agency))
    assert applicant.post("/agencies", profile).status_code == 201
    approve = {"submission": 1, "decision": "approve"}
    for reviewer in (stack.token("admin"), stack.token("regulator", "RG-ENV", industries=("environment",))):
        reply = Client(stack.api, reviewer).post(f"/agencies/{agency}/reviews", approve)
        assert reply.status_code == 200, reply.text


def until(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")
