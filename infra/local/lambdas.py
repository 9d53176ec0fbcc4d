"""The dispatch map: which in-process handler runs when moto is asked to invoke a Lambda function.

moto only runs Lambda code in Docker; the local stack patches its Docker-less backend to call
`dispatch` instead (see `patches`). The map is filled from the Chalice app (`register_app`): every
`@app.lambda_function` (Step Functions tasks), `@app.schedule` and `@app.on_sqs_message` handler,
under its per-stage function name, e.g. `marketplace-local-relay_outbox`.

The hook for code the app does not have yet (and for tests): `register(function_name, handler)`
with any `handler(event, context)`, then `deploy` creates the function in moto so that an ASL
Task state can name its ARN.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import traceback
import zipfile
from collections.abc import Callable
from typing import Any

from chalice.local import LambdaContext

from infra.local import naming

Handler = Callable[[Any, Any], Any]
MEMORY_MB = 512
TIMEOUT_SECONDS = 30
logger = logging.getLogger("infra.local.lambdas")

_handlers: dict[str, Handler] = {}
_lock = threading.Lock()


def register(function_name: str, handler: Handler) -> None:
    with _lock:
        _handlers[function_name] = handler


def unregister(function_name: str) -> None:
    with _lock:
        _handlers.pop(function_name, None)


def registered() -> dict[str, Handler]:
    with _lock:
        return dict(_handlers)


def app_handler_names(app: Any) -> list[str]:
    """The app's handlers that are Lambda functions of their own but not routes."""
    names = [f.name for f in app.pure_lambda_functions]
    names += [source.name for source in app.event_sources]
    return sorted(set(names))


def register_app(app: Any) -> dict[str, str]:
    """Register the app's non-route handlers; returns handler name -> function name."""
    registered_names = {}
    for name in app_handler_names(app):
        register(naming.function_name(name), app.handler_map[name])
        registered_names[name] = naming.function_name(name)
    return registered_names


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README", "the local stack runs this function in-process (infra/local/lambdas.py)")
    return buffer.getvalue()


def deploy(lambda_client: Any, role_arn: str, function_names: list[str]) -> dict[str, str]:
    """Create the functions in moto (code is a placeholder: dispatch runs the handler); name -> ARN."""
    code = _placeholder_zip()
    arns = {}
    for name in function_names:
        created = lambda_client.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=role_arn,
            Handler="app.app",
            Code={"ZipFile": code},
            MemorySize=MEMORY_MB,
            Timeout=TIMEOUT_SECONDS,
        )
        arns[name] = created["FunctionArn"]
    return arns


def context(function_name: str) -> LambdaContext:
    """The context object Chalice's local server gives handlers, with this function's limits."""
    return LambdaContext(function_name, memory_size=MEMORY_MB, max_runtime_ms=TIMEOUT_SECONDS * 1000)


def dispatch(function_name: str, payload: bytes | str | None) -> tuple[bytes, str | None]:
    """Run the registered handler as Lambda would: the JSON result, or an Unhandled function error
    whose `errorType` is the exception's class (what a Step Functions Retry/Catch matches)."""
    with _lock:
        handler = _handlers.get(function_name)
    if handler is None:
        error: dict[str, Any] = {
            "errorType": "LocalHandlerMissing",
            "errorMessage": f"no local handler is registered for Lambda function {function_name}",
        }
        return json.dumps(error).encode(), "Unhandled"
    try:
        event = json.loads(payload) if payload else {}
        result = handler(event, context(function_name))
        return json.dumps(result, ensure_ascii=False, default=str).encode(), None
    except Exception as exc:
        logger.exception("local Lambda function %s failed", function_name)
        error = {
            "errorType": type(exc).__name__,
            "errorMessage": str(exc),
            "stackTrace": traceback.format_tb(exc.__traceback__),
        }
        return json.dumps(error).encode(), "Unhandled"
