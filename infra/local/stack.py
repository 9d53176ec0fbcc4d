"""The whole local stack assembled: key, emulator, patches, resources, Lambda dispatch, scheduler,
poller, API, and optionally the demo data; `stop` takes it down in the reverse order."""

from __future__ import annotations

import json
import logging
import os
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.local import emulator, environment, lambdas, naming, patches
from infra.local import resources as res
from infra.local.files import write_atomically
from infra.local.keys import ensure_signing_key

logger = logging.getLogger("infra.local")


@dataclass(frozen=True)
class Options:
    port: int = 8000  # 0: any free port
    moto_port: int = 0  # 0: any free port
    demo: bool = False
    state_dir: Path = naming.DEFAULT_STATE_DIR
    time_scale: float = 1.0  # multiplies schedule periods and ASL Waits


@dataclass
class Started:
    """What the stack runs, for the banner and `stack.json`."""

    api: str = ""
    moto: str = ""
    tables: list[str] = field(default_factory=list)
    event_bus: str = ""
    rules: list[str] = field(default_factory=list)
    queues: list[str] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)
    state_machines: list[str] = field(default_factory=list)
    schedules: list[str] = field(default_factory=list)
    unscheduled: list[str] = field(default_factory=list)
    bucket: str = ""
    signing_key: str = ""
    user_pool: str = ""  # its id, as USER_POOL_ID
    user_pool_groups: list[str] = field(default_factory=list)
    demo: str = ""
    startup_seconds: float = 0.0
    peak_rss_mb: float = 0.0


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


class LocalStack:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.state_dir = options.state_dir.resolve()
        self.started = Started()
        self._stoppers: list[Any] = []

    def start(self) -> Started:
        began = time.perf_counter()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self.started.startup_seconds = round(time.perf_counter() - began, 2)
        self.started.peak_rss_mb = _peak_rss_mb()
        self._write_state()
        return self.started

    def _start(self) -> None:
        ensure_signing_key(self.state_dir)
        environment.use_utc()
        moto = emulator.start(self.options.moto_port)
        self._stoppers.append(moto.stop)
        from infra.local.api import ApiServer, config_environment

        environment.apply(
            environment.local_environment(moto.url, moto.port, self.state_dir), defaults=config_environment()
        )
        patches.apply(self.options.time_scale)
        emulator.configure(moto.url)
        self.started.moto = moto.url

        from app import app  # only now: the table models read TABLE_PREFIX on import

        queues = self._create_resources(moto, app)
        self._start_workers(moto, app, queues)
        api = ApiServer(app, self.options.port)
        api.start()
        self._stoppers.append(api.stop)
        self.started.api = api.url
        if self.options.demo:
            from infra.local import demo

            self.started.demo = demo.load(api.url, self.state_dir).summary()

    def _create_resources(self, moto: emulator.Emulator, app: Any) -> dict[str, res.Queue]:
        from infra import definitions
        from infra.local import statemachines

        iam = moto.client("iam")
        lambda_role = res.create_role(iam, naming.LAMBDA_ROLE_NAME, "lambda.amazonaws.com")
        states_role = res.create_role(iam, naming.STATES_ROLE_NAME, "states.amazonaws.com")
        values = res.create_tables(moto.client("dynamodb"), definitions.table_specs(), naming.TABLE_PREFIX)
        self.started.tables = sorted(v for k, v in values.items() if k.endswith("TableName"))
        events = moto.client("events")
        values["EventBusArn"] = res.create_event_bus(events, naming.EVENT_BUS_NAME)
        values["EventBusName"] = self.started.event_bus = naming.EVENT_BUS_NAME
        values["EventSource"] = naming.EVENT_SOURCE
        queues = res.create_queues(moto.client("sqs"), definitions.QUEUES)
        self.started.queues = [q.name for q in queues.values()]
        self.started.rules = res.create_rules(
            events, definitions.EVENT_RULES, queues, bus=naming.EVENT_BUS_NAME, source=naming.EVENT_SOURCE
        )
        bucket = naming.resource_name(definitions.DOCUMENTS_BUCKET)
        values["DocumentsBucketName"] = self.started.bucket = res.create_bucket(moto.client("s3"), bucket)
        open_data = res.create_bucket(moto.client("s3"), naming.resource_name(definitions.OPEN_DATA_BUCKET))
        values["OpenDataBucketName"] = open_data
        alias = f"alias/{naming.resource_name(definitions.SIGNING_KEY_ALIAS)}"
        key_arn = res.create_signing_key(moto.client("kms"), alias)
        self.started.signing_key = alias
        sealing_alias = f"alias/{naming.resource_name(definitions.SEALING_KEY_ALIAS)}"
        sealing_arn = res.create_sealing_key(moto.client("kms"), sealing_alias)
        res.defer_user_pool_signing_key()
        pool = res.create_user_pool(res.user_pool_client(moto.url))
        self.started.user_pool, self.started.user_pool_groups = pool.id, list(pool.groups)
        environment.point_at_resources(bucket, key_arn, pool.id, sealing_arn, open_data)

        functions = lambdas.register_app(app)  # handler -> function name
        arns = lambdas.deploy(moto.client("lambda"), lambda_role, sorted(functions.values()))
        values |= res.function_values({handler: arns[name] for handler, name in functions.items()})
        self.started.functions = sorted(functions.values())
        machines = statemachines.create(
            moto.client("stepfunctions"), definitions.state_machine_files(), values, states_role
        )
        self.started.state_machines = sorted(machines)
        for arn in machines.values():  # `...:stateMachine:marketplace-local-<file>`: the app appends <file>
            environment.point_at_state_machines(arn.rsplit(":", 1)[0] + ":" + naming.resource_name(""))
            break
        return queues

    def _start_workers(self, moto: emulator.Emulator, app: Any, queues: dict[str, res.Queue]) -> None:
        from infra import definitions
        from infra.local.poller import Consumer, Poller, batch_size_of
        from infra.local.scheduler import Scheduler, app_schedules

        schedules, self.started.unscheduled = app_schedules(app)
        self.started.schedules = [f"{s.name} {s.expression}" for s in schedules]
        handlers = {s.name: app.handler_map[s.name] for s in schedules}
        heartbeat = self.state_dir / naming.SCHEDULES_FILE
        scheduler = Scheduler(schedules, handlers, heartbeat, self.options.time_scale)
        scheduler.start()
        self._stoppers.append(scheduler.stop)

        consumers = []
        for spec in definitions.QUEUES:
            if spec.consumer not in app.handler_map:
                raise ValueError(f"queue {spec.name}: the app has no consumer named {spec.consumer}")
            queue = queues[spec.name]
            consumers.append(
                Consumer(
                    queue.url,
                    queue.arn,
                    spec.consumer,
                    app.handler_map[spec.consumer],
                    batch_size_of(app, spec.consumer),
                )
            )
        poller = Poller(moto.client("sqs"), consumers)
        poller.start()
        self._stoppers.append(poller.stop)

    def _write_state(self) -> None:
        document = {"pid": os.getpid(), "state_dir": str(self.state_dir), **self.started.__dict__}
        # readers (the e2e fixture) never see half of it
        write_atomically(
            self.state_dir / naming.STACK_FILE, json.dumps(document, indent=2, ensure_ascii=False).encode()
        )

    def stop(self) -> None:
        """Stop what was started, newest first; safe to call twice."""
        while self._stoppers:
            stopper = self._stoppers.pop()
            try:
                stopper()
            except Exception:
                logger.exception("stopping %s failed", getattr(stopper, "__qualname__", stopper))
        (self.state_dir / naming.STACK_FILE).unlink(missing_ok=True)
