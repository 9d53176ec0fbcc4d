"""The schedules moto does not run: each `@app.schedule` handler on its rate, in one thread, with the
event EventBridge Scheduler would send. After every run the thread rewrites a heartbeat file
(`schedules.json` in the state dir) saying what ran, when and how it went.

A first run comes one period after start, as with a new EventBridge rule. `cron(...)` schedules are
not run locally (none exist yet); the stack says so when it starts.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra.local import lambdas, naming
from infra.local.files import write_atomically

logger = logging.getLogger("infra.local.scheduler")
_UNIT_SECONDS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
_RATE = re.compile(r"^rate\((\d+) (minutes?|hours?|days?)\)$")


@dataclass(frozen=True)
class Schedule:
    name: str  # the Chalice handler
    expression: str
    period_seconds: float


def period_seconds(expression: str) -> float | None:
    """Seconds between runs of a `rate(...)` expression; None for anything else (cron)."""
    match = _RATE.match(expression.strip())
    if not match:
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def app_schedules(app: Any) -> tuple[list[Schedule], list[str]]:
    """The app's rate schedules, and the names of those the local scheduler cannot run."""
    schedules, skipped = [], []
    for source in app.event_sources:
        expression = getattr(source, "schedule_expression", None)
        if expression is None:
            continue
        text = expression if isinstance(expression, str) else expression.to_string()
        seconds = period_seconds(text)
        if seconds is None:
            skipped.append(f"{source.name} {text}")
        else:
            schedules.append(Schedule(source.name, text, seconds))
    return schedules, skipped


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def scheduled_event(name: str) -> dict[str, Any]:
    region, account = naming.REGION, naming.ACCOUNT_ID
    rule = f"arn:{naming.PARTITION}:events:{region}:{account}:rule/{naming.resource_name(name)}"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": naming.ACCOUNT_ID,
        "time": _now(),
        "region": naming.REGION,
        "resources": [rule],
        "detail": {},
    }


class Scheduler:
    def __init__(
        self,
        schedules: list[Schedule],
        handlers: dict[str, lambdas.Handler],
        heartbeat: Path,
        time_scale: float = 1.0,
    ) -> None:
        self._schedules = schedules
        self._handlers = handlers
        self._heartbeat = heartbeat
        self._scale = time_scale
        self._status: dict[str, dict[str, Any]] = {
            s.name: {
                "expression": s.expression,
                "period_seconds": s.period_seconds * time_scale,
                "runs": 0,
                "failures": 0,
                "last_run": None,
                "last_result": None,
                "last_error": None,
            }
            for s in schedules
        }
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="local-scheduler", daemon=True)

    def start(self) -> None:
        self._write()
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def run(self, name: str) -> None:
        """Run one scheduled handler now, as its schedule would."""
        entry = self._status[name]
        try:
            result = self._handlers[name](scheduled_event(name), lambdas.context(naming.function_name(name)))
            entry.update(last_result=result, last_error=None)
        except Exception as exc:
            logger.exception("scheduled function %s failed", name)
            entry.update(last_result=None, last_error=f"{type(exc).__name__}: {exc}")
            entry["failures"] += 1
        entry["runs"] += 1
        entry["last_run"] = _now()
        self._write()

    def _loop(self) -> None:
        due = {s.name: time.monotonic() + s.period_seconds * self._scale for s in self._schedules}
        while due:
            name = min(due, key=due.__getitem__)
            if self._stop.wait(max(due[name] - time.monotonic(), 0)):
                return
            self.run(name)
            period = next(s.period_seconds for s in self._schedules if s.name == name) * self._scale
            due[name] = max(due[name] + period, time.monotonic())

    def _write(self) -> None:
        write_atomically(self._heartbeat, json.dumps(self._status, indent=2, default=str).encode())
