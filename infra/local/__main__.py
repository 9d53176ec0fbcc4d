"""`python -m infra.local --port 8000 [--moto-port N] [--demo] [--state-dir .local] [--time-scale F]
[--exit-with-parent]`

Starts the local stack, prints what runs where, and blocks until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

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


def _watch_parent(stopping: threading.Event) -> None:
    parent = os.getppid()

    def watch() -> None:
        while not stopping.wait(1):
            if os.getppid() != parent:
                stopping.set()

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
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    if args.exit_with_parent:
        _watch_parent(stopping)
    stack = LocalStack(options)
    try:
        started = stack.start()
    except OSError as exc:
        in_use = exc.errno == errno.EADDRINUSE
        hint = " (a port is in use: pass --port / PORT=, or --moto-port)" if in_use else ""
        print(f"the local stack could not start: {exc}{hint}", file=sys.stderr)
        return 1
    print(banner(started, options), flush=True)
    try:
        while not stopping.wait(1):
            pass
    finally:
        stack.stop()
        print("Local stack stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
