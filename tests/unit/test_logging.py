"""Logs are one JSON object a line, carrying the request's correlation id."""

from __future__ import annotations

import json
import logging

from marketplace.observability import JsonFormatter, correlation_id, log


def test_a_log_line_is_json_with_the_correlation_id_and_fields() -> None:
    logger = logging.getLogger("marketplace.test")
    record_holder: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            record_holder.append(record)

    handler = Keep()
    logger.addHandler(handler)
    token = correlation_id.set("req-42")
    try:
        log(logger, logging.WARNING, "outbox row not deleted", event_id="e-1")
    finally:
        correlation_id.reset(token)
        logger.removeHandler(handler)
    line = JsonFormatter().format(record_holder[0])
    entry = json.loads(line)
    assert entry["correlation_id"] == "req-42"
    assert entry["message"] == "outbox row not deleted" and entry["event_id"] == "e-1"
    assert entry["level"] == "WARNING" and entry["time"].endswith("Z")


def test_chinese_text_stays_readable_in_logs() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "事项已创建", None, None)
    assert "事项已创建" in JsonFormatter().format(record)
