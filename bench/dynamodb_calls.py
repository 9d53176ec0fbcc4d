"""DynamoDB calls per operation, counted through botocore's `before-call` events while each route
is called in-process on moto, and the number of Scans among them (must be 0). An operation the
scenario calls more than once (a review that only records a decision, then the one that closes the
submission) reports its costliest call; Scans are counted over every call of a route (a request
path). The scheduled relay Scans the outbox, which holds only what a failed flush left behind."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class CallCounter:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, model: Any, **kwargs: Any) -> None:
        self.calls[model.name] += 1

    def reset(self) -> None:
        self.calls.clear()


def measure() -> tuple[dict[str, dict[str, int]], int]:
    """Per operation: DynamoDB calls by API name; and the Scans seen on any request path."""
    from chalice.test import Client
    from moto import mock_aws

    import tests.conftest  # noqa: F401 - sets the test environment (fake credentials, names)
    from app import app
    from infra.operations import discover
    from marketplace.services import calendar
    from tests.conftest import Api
    from tests.support.resources import create_all
    from tests.support.scenario import every_operation, on_clients
    from tests.support.tokens import SigningKey

    key = SigningKey.generate("bench")
    jwks = ROOT / "bench" / ".jwks.json"
    os.environ["JWKS_URL"] = key.write_jwks(jwks)
    os.environ["JWKS_ALLOW_INSECURE_LOCAL"] = "true"  # a file:// JWKS, as in the tests
    counter = CallCounter()
    per_operation: dict[str, dict[str, int]] = {}
    scans = 0
    routes = {op.name for op in discover() if op.is_route}
    try:
        with mock_aws(), on_clients({"dynamodb": ("before-call", counter)}):
            create_all()
            with Client(app) as client:
                api = Api(client, key)
                for name, call in every_operation(api):
                    calendar.forget_cache()  # each operation as a fresh execution environment would
                    counter.reset()
                    reply = call()
                    status = getattr(reply, "status", 200)
                    if status >= 400:
                        raise RuntimeError(f"bench scenario step {name} failed: {status} {reply.body}")
                    calls = dict(sorted(counter.calls.items()))
                    scans += calls.get("Scan", 0) if name in routes else 0
                    if name not in per_operation or sum(calls.values()) > sum(per_operation[name].values()):
                        per_operation[name] = calls
    finally:
        jwks.unlink(missing_ok=True)
    return per_operation, scans
