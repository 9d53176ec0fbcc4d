"""The patches the local stack (and the in-process tests) apply to moto's internals. Both are written against
moto[server]==5.2.5 (pinned in requirements-dev.txt); `check_moto_version` refuses any other.

1. `moto.awslambda_simple.models.LambdaSimpleBackend.invoke`: moto serves Lambda from this
   backend when the config says `lambda.use_docker=false` (`moto.awslambda.utils.get_backend`);
   it echoes the payload. The patch runs the registered in-process handler (`lambdas.dispatch`).
2. `moto.stepfunctions.parser...wait_function.WaitFunction._wait_interval`: an ASL Wait really
   waits. The patch multiplies every relative wait (`Seconds`, `SecondsPath`) by a time scale
   (1.0 = real time) so tests and demos can run long pauses in seconds. A wait until a timestamp
   (`Timestamp`, `TimestampPath`: a purchase's deadlines) is not scaled: it ends at that instant,
   which is what the task after it checks.
3. `moto.dynamodb.models.DynamoDBBackend` reads and writes: moto checks a condition and then
   writes without a lock, so two threads can both pass `attribute_not_exists` and both write,
   and a transaction's items can be seen half-applied. DynamoDB itself makes each write and each
   transaction atomic and isolated; invariants of this system rest on that. The patch runs
   every item operation under one lock (`serialize_dynamodb`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.dynamodb.models import DynamoDBBackend
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import Timestamp
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

from infra.local import lambdas

PATCHED_MOTO_VERSION = "5.2.5"
_time_scale = 1.0
_POLL_SECONDS = 0.05


def check_moto_version() -> None:
    found = version("moto")
    if found != PATCHED_MOTO_VERSION:
        raise RuntimeError(
            f"the local stack patches moto {PATCHED_MOTO_VERSION} internals but moto {found} is installed: "
            "install requirements-dev.txt, or re-verify infra/local/patches.py against the new version"
        )


def _invoke(
    self: LambdaSimpleBackend,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: Any,
) -> bytes:
    function = self.get_function(function_name, qualifier)
    if headers.get("X-Amz-Invocation-Type") == "Event":
        # Asynchronous invocation: accepted now, run beside the caller.
        threading.Thread(
            target=lambdas.dispatch, args=(function.function_name, body), daemon=True, name="lambda-async"
        ).start()
        return b""
    payload, error = lambdas.dispatch(function.function_name, body)
    if error:
        response_headers["x-amz-function-error"] = error
    response_headers["Content-Length"] = str(len(payload))
    return payload


def _scaled_wait_interval(self: WaitFunction, env: Any, wait_seconds: int) -> None:
    """moto's `_wait_interval` with the time scale applied to relative waits; still ends early when
    the execution stops."""
    if isinstance(self, Timestamp):
        # moto truncates the time left to whole seconds; AWS waits until the instant itself.
        seconds, scale = wait_seconds + 1 if wait_seconds >= 0 else 0, 1.0
    else:
        seconds, scale = max(wait_seconds, 0), _time_scale
    deadline = time.monotonic() + seconds * scale
    while env.is_running():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        if env.program_state_event.wait(remaining):
            # Set by a state change: a stopped execution ends the wait, anything else is noise.
            time.sleep(min(_POLL_SECONDS, max(deadline - time.monotonic(), 0)))


def set_time_scale(scale: float) -> None:
    global _time_scale
    if scale <= 0:
        raise ValueError("the time scale must be positive")
    _time_scale = scale


_DYNAMODB_ITEM_OPERATIONS = (
    "put_item",
    "update_item",
    "delete_item",
    "get_item",
    "query",
    "scan",
    "transact_write_items",
    "transact_get_items",
    "batch_write_item",
)
_dynamodb_lock = threading.RLock()


def _serialized(operation: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        with _dynamodb_lock:
            return operation(*args, **kwargs)

    run.__wrapped__ = operation  # type: ignore[attr-defined]
    return run


def serialize_dynamodb() -> Callable[[], None]:
    """Make moto's DynamoDB item operations atomic with respect to each other; returns the undo."""
    originals = {name: getattr(DynamoDBBackend, name) for name in _DYNAMODB_ITEM_OPERATIONS}
    for name, operation in originals.items():
        if not hasattr(operation, "__wrapped__"):
            setattr(DynamoDBBackend, name, _serialized(operation))

    def restore() -> None:
        for name, operation in originals.items():
            setattr(DynamoDBBackend, name, operation)

    return restore


def apply(time_scale: float = 1.0) -> Callable[[], None]:
    """Patch moto; returns a function that restores it (tests that share the process with mock_aws)."""
    check_moto_version()
    set_time_scale(time_scale)
    original_invoke = LambdaSimpleBackend.invoke
    original_wait = WaitFunction._wait_interval
    setattr(LambdaSimpleBackend, "invoke", _invoke)  # noqa: B010 - mypy refuses assigning to a method
    setattr(WaitFunction, "_wait_interval", _scaled_wait_interval)  # noqa: B010
    restore_dynamodb = serialize_dynamodb()

    def restore() -> None:
        restore_dynamodb()
        setattr(LambdaSimpleBackend, "invoke", original_invoke)  # noqa: B010
        setattr(WaitFunction, "_wait_interval", original_wait)  # noqa: B010
        set_time_scale(1.0)

    return restore
