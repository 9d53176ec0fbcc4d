"""What becomes a Lambda function: every route of the Chalice app and every function Chalice
deploys on its own (schedules, queue consumers, Step Functions tasks)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from infra.cfn import camel
from infra.errors import BuildError
from infra.paths import ensure_import_paths


@dataclass(frozen=True)
class Operation:
    """One function of the deployment; `name` is its key in the policy file."""

    name: str
    function_id: str  # logical id of its AWS::Serverless::Function
    role_id: str
    log_group_id: str
    path: str = ""  # routes only
    method: str = ""
    roles: tuple[str, ...] = ()  # who may call a route; empty: public
    summary: str = ""
    schedule: str = ""  # scheduled tasks only
    area: str = ""  # the chalicelib module that holds it: the only one its function loads
    invoked_by: str = "api"  # "api", "schedule", "queue" (SQS) or "workflow" (a Step Functions task)

    @property
    def is_route(self) -> bool:
        return bool(self.path)

    @property
    def protected(self) -> bool:
        return bool(self.roles)


def area_log_group_id(area: str) -> str:
    """The log group every function of `area` writes (docs/adr/0018-resource-count.md): one per area,
    not per function, to keep the stack under CloudFormation's 500 resources."""
    if not area:
        raise BuildError("an operation without an area (chalicelib/areas.py) has no log group")
    return camel(area) + "AreaLogGroup"


def _route(spec: Any) -> Operation:
    base = camel(spec.name) + "Function"
    return Operation(
        name=spec.name,
        function_id=base,
        role_id=base + "Role",
        log_group_id=area_log_group_id(spec.tag),
        path=spec.path,
        method=spec.method.upper(),
        roles=tuple(spec.roles),
        summary=spec.summary,
        area=spec.tag,
    )


def _task(name: str, schedule: str, handler: Any, invoked_by: str) -> Operation:
    # Chalice names the function after the handler; the role and log group are ours.
    base = camel(name)
    # Chalice wraps event handlers (`.func`), and a pure Lambda function's handler once more
    # (`PureLambdaWrapper._original_func`): the area is the module of the function underneath.
    function = getattr(handler, "func", handler)
    function = getattr(function, "_original_func", function)
    area = getattr(function, "__module__", "").rsplit(".", 1)[-1]
    return Operation(
        name=name,
        function_id=base,
        role_id=base + "Role",
        log_group_id=area_log_group_id(area),
        schedule=schedule,
        area=area,
        invoked_by=invoked_by,
    )


def load_app() -> Any:
    """Import the Chalice app the way `chalice package` does (from functions/, layer on the path)."""
    ensure_import_paths()
    return importlib.import_module("app").app


def _route_specs() -> dict[str, Any]:
    http = importlib.import_module("marketplace.web.http")
    return {spec.name: spec for spec in http.ROUTES}


def discover(app: Any | None = None) -> list[Operation]:
    """Every operation, routes first, each name once."""
    app = app if app is not None else load_app()
    specs = _route_specs()
    operations: list[Operation] = []
    for path, methods in sorted(app.routes.items()):
        for method, entry in sorted(methods.items()):
            spec = specs.get(entry.view_name)
            if spec is None:
                raise BuildError(
                    f"route {method} {path} ({entry.view_name}) was not declared with "
                    "marketplace.web.http.route: its roles are unknown, so its authorizer and policy "
                    "cannot be built"
                )
            operations.append(_route(spec))
    for source in app.event_sources:
        expression = getattr(source, "schedule_expression", "")
        schedule = expression if isinstance(expression, str) else expression.to_string()
        if not schedule and not hasattr(source, "queue"):
            raise BuildError(f"event source {source.name!r} is not a schedule or an SQS queue: unsupported")
        invoked_by = "schedule" if schedule else "queue"
        operations.append(_task(source.name, schedule, app.handler_map.get(source.name), invoked_by))
    for function in app.pure_lambda_functions:
        operations.append(_task(function.name, "", app.handler_map.get(function.name), "workflow"))
    if getattr(app, "websocket_handlers", None):
        raise BuildError("websocket handlers are not supported by the per-operation build")
    seen: set[str] = set()
    for op in operations:
        if op.name in seen:
            raise BuildError(
                f"operation name {op.name!r} is used twice (a route and a task?): names must be unique"
            )
        seen.add(op.name)
    return operations
