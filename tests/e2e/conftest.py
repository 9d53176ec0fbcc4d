"""The local stack over HTTP: end-to-end tests talk to the real thing, started as `make run` starts it.

Fixtures
--------
`local_stack` (session scope): `python -m infra.local` in a subprocess of its own process group, on
free ports, with a temporary state dir and time scale 0.02 (schedules and Step Functions waits run
50 times faster: the 1-minute outbox relay runs every 1.2 s). Teardown signals the process group;
should pytest itself be killed, the stack notices its parent is gone and stops (--exit-with-parent).
It yields a `StackProcess`:

    local_stack.api                        base URL, no trailing slash: f"{local_stack.api}/health"
    local_stack.token(role, org_id, industries=(), **claims) -> str
                                           a bearer token the stack accepts; `claims` override
                                           or (with None) remove claims, e.g. exp=..., iss=...
    local_stack.stop()                     SIGTERM to the process group (idempotent; also at teardown)

and, for the few tests that need them: `.moto` (the emulator's URL, for a boto3 client with
`endpoint_url=`), `.state_dir`, `.schedules()` (the scheduler's heartbeat), `.log()` (its output).

    def test_owner_registers(local_stack):
        token = local_stack.token("owner", f"OWN-{uuid.uuid4().hex[:8]}")
        reply = requests.post(f"{local_stack.api}/owners", json=profile,
                              headers={"Authorization": f"Bearer {token}"}, timeout=10)

One stack serves the whole session: give what you create unique ids and never assume a table is
empty. The demo data is not loaded. `start_local_stack(*args)` (session scope) starts another stack
with extra arguments (e.g. "--demo"); it is stopped at the end of the session.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from infra.local import naming
from infra.local.tokens import mint_token

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 15
TIME_SCALE = "0.02"


@dataclass
class StackProcess:
    process: subprocess.Popen[bytes]
    state_dir: Path
    api: str = ""
    moto: str = ""

    @classmethod
    def start(cls, state_dir: Path, *args: str) -> StackProcess:
        state_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        roots = [ROOT / "layers" / "common" / "python", ROOT / "functions", ROOT]
        env["PYTHONPATH"] = os.pathsep.join([*map(str, roots), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        env["PYTHONUNBUFFERED"] = "1"
        # The tests' own setting (tests/conftest.py) is not passed on: the stack must allow its
        # file:// JWKS itself (infra/local/environment.py), as `make run` does from a plain shell.
        env["JWKS_ALLOW_INSECURE_LOCAL"] = "false"
        # README "Regional rules": the local override that lets a purchase's enrollment window last
        # seconds, so the real state machine closes it while the test watches.
        env.setdefault("RULE_ENROLLMENT_MIN_WORKING_DAYS", "0")
        command = [
            sys.executable,
            "-m",
            "infra.local",
            "--port",
            "0",
            "--state-dir",
            str(state_dir),
            "--time-scale",
            TIME_SCALE,
            "--exit-with-parent",
            *args,
        ]
        with (state_dir / "stack.log").open("wb") as log:
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        stack = cls(process=process, state_dir=state_dir)
        try:
            stack._wait_until_up()
        except BaseException:
            stack.stop()
            raise
        return stack

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        described = self.state_dir / naming.STACK_FILE
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise RuntimeError(f"the local stack exited with {code}:\n{self.log()[-4000:]}")
            if described.exists():
                document = json.loads(described.read_text(encoding="utf-8"))
                self.api, self.moto = document["api"], document["moto"]
                with contextlib.suppress(requests.RequestException):
                    if requests.get(f"{self.api}/health", timeout=2).status_code == 200:
                        return
            time.sleep(0.1)
        waited = START_TIMEOUT_SECONDS
        raise TimeoutError(f"the local stack did not answer /health in {waited} s:\n{self.log()[-4000:]}")

    def token(self, role: str, org_id: str = "", industries: tuple[str, ...] = (), **claims: Any) -> str:
        return mint_token(role, org_id, industries=industries, state_dir=self.state_dir, **claims)

    def schedules(self) -> dict[str, Any]:
        path = self.state_dir / naming.SCHEDULES_FILE
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def log(self) -> str:
        return (self.state_dir / "stack.log").read_text(encoding="utf-8", errors="replace")

    def stop(self, signum: int = signal.SIGTERM) -> int | None:
        """Signal the whole process group, wait, then kill what is left; returns the exit code."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signum)
            try:
                self.process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(STOP_TIMEOUT_SECONDS)
        # Anything the stack left in its group goes too (it starts no children: this is a safety net).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.returncode


@pytest.fixture(scope="session")
def start_local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., StackProcess]]:
    started: list[StackProcess] = []

    def start(*args: str) -> StackProcess:
        stack = StackProcess.start(tmp_path_factory.mktemp("local-stack"), *args)
        started.append(stack)
        return stack

    yield start
    for stack in started:
        stack.stop()


@pytest.fixture(scope="session")
def local_stack(start_local_stack: Callable[..., StackProcess]) -> StackProcess:
    return start_local_stack()
