"""`make run` stops on Ctrl-C and on SIGTERM, every time: the stack is started and stopped many times
in a row, alternating the two signals, and each stop must end the process promptly, cleanly, and
with its ports free for the next `make run`."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from infra.local import naming
from tests.e2e.conftest import StackProcess

pytestmark = pytest.mark.e2e

STOPS = 16  # 8 of each signal: about 90 s on an idle 2-core machine (each start takes most of it)
STOP_BOUND_SECONDS = 10.0  # the poller's 1 s long poll and the servers' shutdown, on a loaded machine


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port, url
    return port


def port_is_free(port: int) -> bool:
    """Bind as the next `make run` would (its servers set SO_REUSEADDR, as this probe does)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def stop_with(stack: StackProcess, signum: int) -> tuple[int | None, float]:
    """Signal the stack's process alone; its exit code (None: still running) and the time taken."""
    began = time.monotonic()
    stack.process.send_signal(signum)
    try:
        stack.process.wait(STOP_BOUND_SECONDS)
    except subprocess.TimeoutExpired:
        return None, time.monotonic() - began
    return stack.process.returncode, time.monotonic() - began


def test_the_stack_stops_on_every_sigint_and_sigterm(tmp_path: Path):
    state_dir = tmp_path / "state"
    taken: list[float] = []
    for attempt in range(STOPS):
        signum = signal.SIGINT if attempt % 2 == 0 else signal.SIGTERM
        stack = StackProcess.start(state_dir)  # returns once /health answers 200
        try:
            ports = [port_of(stack.api), port_of(stack.moto)]

            code, seconds = stop_with(stack, signum)

            name = signal.Signals(signum).name
            assert code == 0, f"stop {attempt + 1}/{STOPS} ({name}): still running after {seconds:.1f} s" + (
                f"\n{stack.log()[-3000:]}"
            )
            assert "Local stack stopped." in stack.log()
            assert not (state_dir / naming.STACK_FILE).exists()  # a clean stop removes what it described
            assert all(port_is_free(port) for port in ports), f"stop {attempt + 1} ({name}) left a port bound"
            taken.append(seconds)
        finally:
            stack.stop(signal.SIGKILL)  # only does anything when the stop above failed
    assert len(taken) == STOPS
