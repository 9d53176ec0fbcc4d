"""Concurrent requests served by one app object (as Chalice's local server does on threads) each
see their own request."""

from __future__ import annotations

import threading
import time

from tests.conftest import Api
from tests.support.samples import catalogue_item


def test_concurrent_creates_each_store_their_own_body(api: Api, monkeypatch) -> None:
    from marketplace.web import http

    serve = http._serve

    def slow_serve(*args, **kwargs):
        time.sleep(0.02)  # widen the window in which another thread starts its request
        return serve(*args, **kwargs)

    monkeypatch.setattr(http, "_serve", slow_serve)
    admin = api.as_role("admin")
    start = threading.Barrier(8)
    replies: dict[str, int] = {}

    def create(n: int) -> None:
        start.wait()
        reply = admin.post("/catalogue/items", catalogue_item(f"ZJ-CC-{n:03d}", name=f"并发事项{n}"))
        replies[f"ZJ-CC-{n:03d}"] = reply.status

    threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(replies.values()) == {201}
    for n in range(8):
        item = api.call("GET", f"/catalogue/items/ZJ-CC-{n:03d}").body["item"]
        assert item["name"] == f"并发事项{n}"
