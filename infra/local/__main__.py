"""`python -m infra.local --port 8000 [--moto-port N] [--demo] [--state-dir .local] [--time-scale F]
[--exit-with-parent]`

Starts the local stack, prints what runs where, and blocks until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from infra.local import naming
from infra.local.resources import USER_POOL_NAME
from infra.local.stack import LocalStack, Options, Started


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m infra.local", description="Run the system locally.")
    parser.add_argument("--port", type=int, default=8000, help="API port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--moto-port", type=int, default=0, help="emulator port (default: any free port)")
    parser.add_argument("--demo", action="store_true", help="load the demo catalogue and owners (idempotent)")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=naming.DEFAULT_STATE_DIR,
        help="signing key, JWKS, heartbeat files (default: .local/)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="multiply schedule periods and Step Functions waits (e.g. 0.01 in tests)",
    )
    parser.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="stop when the process that started this one goes away (test fixtures)",
    )
    return parser


class StopRequest:
    """What asks the stack to stop: SIGINT, SIGTERM, or the parent going away.

    A self-pipe the main thread waits on with `select`. The signals reach it through
    `signal.set_wakeup_fd`: the interpreter writes a byte for each signal before any Python handler
    runs, and the Python handler does nothing. A handler must not take a lock the interrupted main
    thread may hold: the former handler set a `threading.Event` the main thread was waiting on, and
    now and then blocked forever on that Event's own lock, leaving the whole stack running.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)  # set_wakeup_fd requires it; a full pipe is a request already
        self._previous_handlers: dict[int, Any] = {}
        self._previous_wakeup_fd = -1

    def install(self) -> None:
        """Main thread only (as `signal` requires)."""
        for signum in self.SIGNALS:
            self._previous_handlers[signum] = signal.signal(signum, _nothing)
        self._previous_wakeup_fd = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)

    def request(self) -> None:
        """From any thread."""
        with contextlib.suppress(BlockingIOError):  # a full pipe holds requests already
            os.write(self._write, b"\0")

    def requested(self, timeout: float | None = 0) -> bool:
        """Wait up to `timeout` seconds (None: until asked) for a request; True once one came."""
        ready, _, _ = select.select([self._read], [], [], timeout)
        return bool(ready)

    def close(self) -> None:
        if self._previous_handlers:
            signal.set_wakeup_fd(self._previous_wakeup_fd)
            for signum, handler in self._previous_handlers.items():
                signal.signal(signum, handler)
            self._previous_handlers = {}
        os.close(self._read)
        os.close(self._write)


def _nothing(signum: int, frame: Any) -> None:
    """The Python-level handler: the wakeup byte already told the main thread (see StopRequest)."""


def _watch_parent(stop: StopRequest) -> None:
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        stop.request()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _list(values: list[str]) -> str:
    return ", ".join(values) if values else "(none)"


def banner(started: Started, options: Options) -> str:
    state_dir = "" if options.state_dir == naming.DEFAULT_STATE_DIR else f" --state-dir {options.state_dir}"
    lines = [
        f"Local stack up in {started.startup_seconds} s (peak RSS {started.peak_rss_mb} MB)",
        f"  API             {started.api}   (try /health, /openapi.json)",
        f"  moto            {started.moto}   (AWS_ENDPOINT_URL for aws CLI / boto3, {naming.REGION})",
        f"  tables          {_list(started.tables)}",
        f"  event bus       {started.event_bus}; rules: {_list(started.rules)}",
        f"  queues          {_list(started.queues)}",
        f"  state machines  {_list(started.state_machines)}",
        f"  functions       {_list(started.functions)}",
        f"  schedules       {_list(started.schedules)}",
        f"  bucket / key    {started.bucket} / {started.signing_key}",
        f"  user pool       {USER_POOL_NAME} / {started.user_pool}"
        f"; groups: {_list(started.user_pool_groups)}",
    ]
    if started.unscheduled:
        lines.append(f"  NOT scheduled locally (cron): {_list(started.unscheduled)}")
    if started.demo:
        lines.append(f"  {started.demo}")
    lines += [
        "Tokens (role admin|regulator|owner|agency, SUBJECT = the organisation id):",
        "  make token ROLE=admin SUBJECT=ADMIN-1",
        f"  python -m infra.local.tokens --role owner --subject OWN-001{state_dir}",
        f'  curl -H "Authorization: Bearer $(make -s token ROLE=admin SUBJECT=ADMIN-1)" {started.api}/me',
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    options = Options(
        port=args.port,
        moto_port=args.moto_port,
        demo=args.demo,
        state_dir=args.state_dir,
        time_scale=args.time_scale,
    )
    stop = StopRequest()
    stop.install()
    try:
        if args.exit_with_parent:
            _watch_parent(stop)
        return _run(LocalStack(options), options, stop)
    finally:
        stop.close()


def _run(stack: LocalStack, options: Options, stop: StopRequest) -> int:
    try:
        started = stack.start()
    except OSError as exc:
        in_use = exc.errno == errno.EADDRINUSE
        hint = " (a port is in use: pass --port / PORT=, or --moto-port)" if in_use else ""
        print(f"the local stack could not start: {exc}{hint}", file=sys.stderr)
        return 1
    print(banner(started, options), flush=True)
    try:
        stop.requested(timeout=None)  # a signal during start-up is kept in the pipe: it stops us now
    finally:
        stack.stop()
        print("Local stack stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
