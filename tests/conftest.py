"""Fixtures every suite shares: a moto-backed AWS (in-process), the app, and callers with tokens."""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.tokens import AUDIENCE, ISSUER, SigningKey

# Tests never reach AWS: fake credentials, a fixed region, X-Ray off, before any SDK import.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "cn-north-1",
        "AWS_REGION": "cn-north-1",
        "AWS_XRAY_SDK_ENABLED": "false",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "STAGE": "test",
        "TABLE_PREFIX": "marketplace-test-",
        "EVENT_BUS_NAME": "marketplace-test",
        "TOKEN_ISSUER": ISSUER,
        "TOKEN_AUDIENCE": AUDIENCE,
        # The tests' keys are a file:// JWKS, as the local stack's are.
        "JWKS_ALLOW_INSECURE_LOCAL": "true",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture(scope="session", autouse=True)
def _collector_runs() -> None:
    """A test module may import one chalicelib module alone, which pauses the garbage collector
    until a function's entry module has loaded (chalicelib/startup.py): the test process runs with
    it, as a function does once started."""
    gc.enable()


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    key = SigningKey.generate("test-key")
    os.environ["JWKS_URL"] = key.write_jwks(tmp_path_factory.mktemp("jwks") / "jwks.json")
    from marketplace.settings import reset_settings

    reset_settings()
    return key


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


class Api:
    """Calls the Chalice app in-process, as API Gateway would, with a caller's token."""

    def __init__(self, client: Any, key: SigningKey) -> None:
        self._client = client
        self.key = key

    def token(self, role: str, org_id: str = "", **kwargs: Any) -> str:
        return self.key.token(role, org_id, **kwargs)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Reply:
        sent = {"content-type": "application/json", **(headers or {})}
        if token:
            sent["authorization"] = f"Bearer {token}"
        payload = (
            raw
            if raw is not None
            else (json.dumps(body, ensure_ascii=False).encode() if body is not None else b"")
        )
        response = self._client.http.request(method, path, headers=sent, body=payload)
        received = {k.lower(): v for k, v in response.headers.items()}
        text = response.body.decode() if response.body else ""
        if received.get("content-type", "").startswith("text/"):  # a page: its text as the body
            return Reply(response.status_code, received, text)
        return Reply(response.status_code, received, json.loads(text) if text else None)

    def as_role(self, role: str, org_id: str = "", **kwargs: Any) -> Caller:
        return Caller(self, self.token(role, org_id, **kwargs))


@dataclass
class Caller:
    api: Api
    token_value: str

    def get(self, path: str, **kw: Any) -> Reply:
        return self.api.call("GET", path, token=self.token_value, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.api.call("POST", path, body, token=self.token_value, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.api.call("PUT", path, body, token=self.token_value, **kw)

    def delete(self, path: str, **kw: Any) -> Reply:
        return self.api.call("DELETE", path, token=self.token_value, **kw)


@pytest.fixture
def aws(signing_key: SigningKey) -> Iterator[None]:
    """A fresh moto account with every table and the bus, created from the template's definitions."""
    from moto import mock_aws

    from infra.local.patches import serialize_dynamodb
    from infra.local.resources import defer_user_pool_signing_key
    from tests.support.resources import create_all

    restore = serialize_dynamodb()  # DynamoDB's own atomicity, which moto lacks across threads
    restore_key = defer_user_pool_signing_key()  # moto's per-pool key load is slow and unused here
    try:
        with mock_aws():
            create_all()
            yield
    finally:
        restore_key()
        restore()


@pytest.fixture
def api(aws: None, signing_key: SigningKey) -> Iterator[Api]:
    from chalice.test import Client

    from app import app

    with Client(app) as client:
        yield Api(client, signing_key)


@pytest.fixture
def published_events(aws: None) -> Any:
    """Everything put on the domain bus during the test, read back through an SQS queue."""
    from tests.support.resources import EventTap

    return EventTap.attach()


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
