"""The local stack itself: it answers, it checks tokens as AWS would, it has the user pool the app
manages users in, its scheduler runs the outbox relay, its Step Functions run local Lambda handlers,
its poller feeds queue consumers, and it loads and stops cleanly."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from infra.local import emulator, lambdas, naming, patches, resources, statemachines
from infra.local.keys import load_signing_key
from infra.local.poller import Consumer, Poller, failed_ids
from infra.local.scheduler import period_seconds
from infra.local.tokens import user_id

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def get(stack: Any, path: str, token: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{stack.api}{path}", headers=headers, timeout=10)


def eventually(check: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


# --- The API and its tokens ---------------------------------------------------------------------


def test_health_answers(local_stack):
    reply = get(local_stack, "/health")

    assert reply.status_code == 200
    assert reply.json()["status"] == "ok"
    assert reply.json()["stage"] == naming.STAGE


def test_me_with_a_real_token_returns_the_role_and_organisation(local_stack):
    token = local_stack.token("regulator", "REG-330100", industries=("环保", "水利"))

    reply = get(local_stack, "/me", token)

    assert reply.status_code == 200
    assert reply.json() == {
        "subject": user_id("regulator", "REG-330100"),
        "role": "regulator",
        "org_id": "REG-330100",
        "industries": ["环保", "水利"],
        "name": "",
    }


def test_a_request_without_a_token_is_a_401_problem(local_stack):
    reply = get(local_stack, "/me")

    assert reply.status_code == 401
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert reply.json()["status"] == 401
    assert reply.headers["www-authenticate"].startswith("Bearer")


def test_a_token_signed_by_another_key_is_refused(local_stack):
    kid = load_signing_key(local_stack.state_dir).kid
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    genuine = jwt.decode(local_stack.token("admin", "ADMIN-1"), options={"verify_signature": False})

    forged = jwt.encode(genuine, impostor, algorithm="RS256", headers={"kid": kid})

    reply = get(local_stack, "/me", forged)
    assert reply.status_code == 401
    assert "signature" in reply.json()["detail"]


def test_a_token_with_an_unknown_key_id_is_refused(local_stack):
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = jwt.decode(local_stack.token("admin", "ADMIN-1"), options={"verify_signature": False})

    reply = get(local_stack, "/me", jwt.encode(claims, impostor, algorithm="RS256", headers={"kid": "other"}))

    assert reply.status_code == 401


def test_an_expired_token_is_refused(local_stack):
    now = int(time.time())
    token = local_stack.token("owner", "OWN-EXPIRED", iat=now - 3600, exp=now - 120)

    reply = get(local_stack, "/me", token)

    assert reply.status_code == 401
    assert "expired" in reply.json()["detail"]


def test_an_unsigned_alg_none_token_is_refused(local_stack):
    kid = load_signing_key(local_stack.state_dir).kid
    claims = jwt.decode(local_stack.token("admin", "ADMIN-1"), options={"verify_signature": False})
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{b64(claims)}."

    reply = get(local_stack, "/me", unsigned)

    assert reply.status_code == 401


@pytest.mark.parametrize(
    ("claim", "value", "says"),
    [("iss", "https://evil.example/issuer", "issuer"), ("aud", "some-other-client", "audience")],
)
def test_a_token_for_another_issuer_or_audience_is_refused(local_stack, claim, value, says):
    reply = get(local_stack, "/me", local_stack.token("admin", "ADMIN-1", **{claim: value}))

    assert reply.status_code == 401
    assert says in reply.json()["detail"]


def test_the_tokens_command_prints_a_token_the_stack_accepts(local_stack):
    printed = subprocess.run(
        [
            sys.executable,
            "-m",
            "infra.local.tokens",
            "--role",
            "agency",
            "--subject",
            "AG-7",
            "--state-dir",
            str(local_stack.state_dir),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()

    reply = get(local_stack, "/me", printed)

    assert reply.status_code == 200
    assert (reply.json()["role"], reply.json()["org_id"]) == ("agency", "AG-7")


# --- The user pool ------------------------------------------------------------------------------


def test_the_stack_has_the_user_pool_with_a_group_per_role_and_the_custom_attributes(local_stack):
    from marketplace.auth import ROLES

    cognito = resources.user_pool_client(local_stack.moto)
    described = json.loads((local_stack.state_dir / naming.STACK_FILE).read_text(encoding="utf-8"))

    pools = cognito.list_user_pools(MaxResults=60)["UserPools"]

    (pool,) = [p for p in pools if p["Name"] == resources.USER_POOL_NAME == "marketplace-local"]
    assert pool["Id"] == described["user_pool"]  # what the app got as USER_POOL_ID
    assert pool["Id"].startswith(f"{resources.USER_POOL_REGION}_")  # clients take the region from it
    groups = cognito.list_groups(UserPoolId=pool["Id"])["Groups"]
    assert sorted(g["GroupName"] for g in groups) == sorted(ROLES) == sorted(described["user_pool_groups"])
    details = cognito.describe_user_pool(UserPoolId=pool["Id"])["UserPool"]
    attributes = {a["Name"]: a for a in details["SchemaAttributes"]}
    for name in ("custom:org_id", "custom:industries"):
        assert attributes[name]["AttributeDataType"] == "String"
        assert attributes[name]["Mutable"] is True
    assert details["UsernameAttributes"] == ["email"]
    assert details["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True


def test_the_pool_manages_users_as_the_app_does(local_stack):
    cognito = resources.user_pool_client(local_stack.moto)
    pool = json.loads((local_stack.state_dir / naming.STACK_FILE).read_text(encoding="utf-8"))["user_pool"]
    email = f"staff-{uuid.uuid4().hex[:8]}@agency.example.cn"

    created = cognito.admin_create_user(
        UserPoolId=pool,
        Username=email,  # sign-in is by email (UsernameAttributes), as in the template
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "custom:org_id", "Value": "AG-7"}],
    )["User"]
    cognito.admin_add_user_to_group(UserPoolId=pool, Username=email, GroupName="agency")

    found = cognito.admin_get_user(UserPoolId=pool, Username=email)
    assert {a["Name"]: a["Value"] for a in found["UserAttributes"]}["custom:org_id"] == "AG-7"
    assert created["Username"] == found["Username"]
    groups = cognito.admin_list_groups_for_user(UserPoolId=pool, Username=email)["Groups"]
    assert [g["GroupName"] for g in groups] == ["agency"]
    cognito.admin_user_global_sign_out(UserPoolId=pool, Username=email)
    cognito.admin_delete_user(UserPoolId=pool, Username=email)
    with pytest.raises(cognito.exceptions.UserNotFoundException):
        cognito.admin_get_user(UserPoolId=pool, Username=email)


# --- Schedules ----------------------------------------------------------------------------------


def test_the_outbox_relay_runs_on_the_scheduler_and_publishes_what_was_left(local_stack):
    # Given an event whose immediate publication failed, left in the outbox well past the grace period
    dynamodb = emulator_client(local_stack.moto, "dynamodb")
    event_id = str(uuid.uuid4())
    stale = (datetime.now(UTC) - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    detail = {
        "event_id": event_id,
        "event_type": "OwnerRegistered",
        "occurred_at": stale,
        "subject": "OWN-X",
        "actor": "test",
        "data": {},
    }
    dynamodb.put_item(
        TableName=f"{naming.TABLE_PREFIX}outbox",
        Item={
            "event_id": {"S": event_id},
            "pending": {"S": "PENDING"},
            "created_at": {"S": stale},
            "detail_type": {"S": "OwnerRegistered"},
            "detail": {"S": json.dumps(detail)},
        },
    )
    runs_before = local_stack.schedules().get("relay_outbox", {}).get("runs", 0)

    # When the scheduler runs relay_outbox again (every 1.2 s at the test time scale)
    def relayed() -> bool:
        status = local_stack.schedules().get("relay_outbox", {})
        gone = "Item" not in dynamodb.get_item(
            TableName=f"{naming.TABLE_PREFIX}outbox", Key={"event_id": {"S": event_id}}
        )
        return status.get("runs", 0) > runs_before and gone

    # Then the row is published and removed, and the heartbeat says the runs went well
    assert eventually(relayed), local_stack.schedules()
    status = local_stack.schedules()["relay_outbox"]
    assert status["expression"] == "rate(1 minute)"
    assert status["last_error"] is None
    assert status["failures"] == 0


def emulator_client(url: str, service: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=url,
        region_name=naming.REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


# --- In-process: Step Functions tasks and queue consumers ----------------------------------------


@pytest.fixture(scope="module")
def moto_in_process() -> Iterator[emulator.Emulator]:
    """moto's server in this process, patched and configured as the stack does it, then restored:
    other suites share the process (and moto's process-wide config) with mock_aws."""
    with pytest.MonkeyPatch.context() as env:
        moto = emulator.start(0)
        env.setenv("MOTO_PORT", str(moto.port))
        restore = patches.apply(time_scale=0.01)
        emulator.configure(moto.url)
        try:
            yield moto
        finally:
            restore()
            emulator.configure(
                moto.url, {"stepfunctions": {"execute_state_machine": False}, "lambda": {"use_docker": True}}
            )
            moto.stop()


def finished(sfn: Any, execution_arn: str) -> dict[str, Any]:
    return eventually(
        lambda: (d := sfn.describe_execution(executionArn=execution_arn))["status"] != "RUNNING" and d,
        timeout=20,
    )


def test_a_state_machine_task_runs_a_registered_local_handler(moto_in_process, tmp_path):
    # Given a local handler registered through the dispatch hook, and an ASL with a placeholder for it
    received: list[Any] = []

    def close_window(event: dict[str, Any], context: Any) -> dict[str, Any]:
        received.append((event, context.function_name))
        return {"purchase_id": event["purchase_id"], "closed": True}

    function = naming.function_name(f"close_window_{uuid.uuid4().hex[:6]}")
    lambdas.register(function, close_window)
    iam = moto_in_process.client("iam")
    lambda_role = resources.create_role(iam, f"lambda-{uuid.uuid4().hex[:6]}", "lambda.amazonaws.com")
    states_role = resources.create_role(iam, f"states-{uuid.uuid4().hex[:6]}", "states.amazonaws.com")
    arn = lambdas.deploy(moto_in_process.client("lambda"), lambda_role, [function])[function]
    asl = {
        "StartAt": "Close",
        "States": {
            "Close": {"Type": "Task", "Resource": "${CloseWindowFunctionArn}", "Next": "Cooling"},
            "Cooling": {"Type": "Wait", "Seconds": 60, "Next": "Done"},  # 0.6 s at time scale 0.01
            "Done": {"Type": "Succeed"},
        },
    }
    (tmp_path / "window.asl.json").write_text(json.dumps(asl))
    sfn = moto_in_process.client("stepfunctions")
    machines = statemachines.create(
        sfn, [tmp_path / "window.asl.json"], resources.function_values({"close_window": arn}), states_role
    )

    # When an execution starts
    began = time.monotonic()
    execution = sfn.start_execution(
        stateMachineArn=machines[naming.resource_name("window")], input=json.dumps({"purchase_id": "P-1"})
    )
    try:
        result = finished(sfn, execution["executionArn"])
    finally:
        lambdas.unregister(function)

    # Then the handler ran in-process, the scaled Wait passed, and the execution succeeded
    assert result["status"] == "SUCCEEDED", result
    assert json.loads(result["output"]) == {"purchase_id": "P-1", "closed": True}
    assert received == [({"purchase_id": "P-1"}, function)]
    assert time.monotonic() - began < 10


def test_a_failing_local_handler_fails_the_task_with_its_error_type(moto_in_process, tmp_path):
    def refuse(event: Any, context: Any) -> None:
        raise PermissionError("window already closed")

    function = naming.function_name(f"refuse_{uuid.uuid4().hex[:6]}")
    lambdas.register(function, refuse)
    iam = moto_in_process.client("iam")
    role = resources.create_role(iam, f"role-{uuid.uuid4().hex[:6]}", "lambda.amazonaws.com")
    arn = lambdas.deploy(moto_in_process.client("lambda"), role, [function])[function]
    asl = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "${RefuseFunctionArn}", "End": True}}}
    (tmp_path / "refuse.asl.json").write_text(json.dumps(asl))
    sfn = moto_in_process.client("stepfunctions")
    machines = statemachines.create(
        sfn, [tmp_path / "refuse.asl.json"], resources.function_values({"refuse": arn}), role
    )

    execution = sfn.start_execution(stateMachineArn=machines[naming.resource_name("refuse")], input="{}")
    try:
        result = finished(sfn, execution["executionArn"])
    finally:
        lambdas.unregister(function)

    assert result["status"] == "FAILED"
    assert result["error"] == "PermissionError"


def test_a_pool_whose_signing_key_is_deferred_still_signs_the_tokens_moto_issues(moto_in_process):
    from moto.utilities.utils import load_resource

    undo = resources.defer_user_pool_signing_key()
    try:
        cognito = resources.user_pool_client(moto_in_process.url)
        pool = resources.create_user_pool(cognito, name=f"pool-{uuid.uuid4().hex[:6]}")
        client = cognito.create_user_pool_client(
            UserPoolId=pool.id, ClientName="test", ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"]
        )["UserPoolClient"]["ClientId"]
        email = "staff@agency.example.cn"
        attributes = [{"Name": "email", "Value": email}, {"Name": "custom:org_id", "Value": "AG-9"}]
        cognito.admin_create_user(UserPoolId=pool.id, Username=email, UserAttributes=attributes)
        cognito.admin_set_user_password(
            UserPoolId=pool.id, Username=email, Password="Aa1!" * 4, Permanent=True
        )

        tokens = cognito.admin_initiate_auth(
            UserPoolId=pool.id,
            ClientId=client,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": "Aa1!" * 4},
        )["AuthenticationResult"]
    finally:
        undo()

    public = jwt.PyJWK(load_resource("cognitoidp/resources/jwks-public.json")["keys"][0]).key
    claims = jwt.decode(tokens["IdToken"], public, algorithms=["RS256"], audience=client)
    assert claims["custom:org_id"] == "AG-9"
    assert claims["iss"].endswith(pool.id)


def test_an_unresolved_placeholder_is_an_error_not_a_definition():
    with pytest.raises(ValueError, match="NoSuchFunctionArn"):
        statemachines.substitute('{"Resource": "${NoSuchFunctionArn}"}', {})


def test_rule_events_reach_the_queue_consumer_and_only_processed_messages_are_deleted(moto_in_process):
    # Given a rule that sends two event types to a queue, and a consumer that fails one message
    from infra.definitions import EventRule, QueueSpec

    suffix = uuid.uuid4().hex[:6]
    bus = f"bus-{suffix}"
    events, sqs = moto_in_process.client("events"), moto_in_process.client("sqs")
    resources.create_event_bus(events, bus)
    queues = resources.create_queues(sqs, [QueueSpec(f"notify-{suffix}", "notify", 3, visibility_timeout=1)])
    queue = queues[f"notify-{suffix}"]
    rule = EventRule(f"notify-{suffix}", ("OwnerRegistered", "OwnerUpdated"), f"notify-{suffix}")
    resources.create_rules(events, [rule], queues, bus=bus, source="marketplace")
    for n, kind in enumerate(["OwnerRegistered", "OwnerUpdated", "OwnerRegistered", "CalendarYearLoaded"]):
        events.put_events(
            Entries=[
                {
                    "Source": "marketplace",
                    "DetailType": kind,
                    "EventBusName": bus,
                    "Detail": json.dumps({"n": n}),
                }
            ]
        )
    seen: list[dict[str, Any]] = []

    def notify(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.extend(event["Records"])
        failed = [r["messageId"] for r in event["Records"] if json.loads(r["body"])["detail"]["n"] == 1]
        return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}

    poller = Poller(sqs, [Consumer(queue.url, queue.arn, "notify", notify)])

    # When the poller hands the queue's messages to the consumer
    received, deleted = poller.poll_once(poller_consumer(poller), wait_seconds=1)

    # Then it got the SQS event shape, the rule filtered by type, and only the failure stays queued
    assert (received, deleted) == (3, 2)
    assert {r["eventSource"] for r in seen} == {"aws:sqs"}
    assert {r["eventSourceARN"] for r in seen} == {queue.arn}
    time.sleep(1.1)  # the visibility timeout
    again = sqs.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["detail"]["n"] for m in again] == [1]


def poller_consumer(poller: Poller) -> Consumer:
    return poller._consumers[0]


@pytest.mark.parametrize(
    ("result", "kept"),
    [
        (None, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, {"b"}),
        ({"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]}, {"a", "b"}),
        ({"batchItemFailures": "b"}, {"a", "b"}),
    ],
)
def test_a_malformed_failure_report_keeps_the_whole_batch_as_in_aws(result, kept):
    assert failed_ids(result, {"a", "b"}) == kept


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(2 hours)", 7200), ("cron(0 1 * * ? *)", None)],
)
def test_schedule_periods_come_from_rate_expressions(expression, seconds):
    assert period_seconds(expression) == seconds


# --- Demo data and a clean stop -----------------------------------------------------------------


def test_the_demo_loads_through_the_api_once_and_a_stack_stops_cleanly(start_local_stack):
    from infra.local import demo

    stack = start_local_stack("--demo")

    items = requests.get(f"{stack.api}/catalogue/items?limit=50", timeout=10).json()["items"]
    owners = requests.get(f"{stack.api}/owners?limit=50", timeout=10).json()["items"]
    assert {i["code"] for i in items} == {
        "ZJ-HP-001",
        "ZJ-AP-001",
        "ZJ-JN-001",
        "ZJ-SB-001",
        "ZJ-DZ-001",
        "ZJ-ZJ-001",
    }
    assert {o["owner_id"] for o in owners} == {"OWN-001", "OWN-002", "OWN-003"}
    admitted = requests.get(f"{stack.api}/agencies?item_code=ZJ-HP-001&status=admitted", timeout=10).json()
    assert {a["agency_id"] for a in admitted["items"]} == {"AG-DEMO-01", "AG-DEMO-02", "AG-DEMO-03"}
    again = demo.load(stack.api, stack.state_dir)
    assert again.created == []
    assert len(again.existing) == 12

    assert stack.stop(signal.SIGINT) == 0
    assert not (stack.state_dir / naming.STACK_FILE).exists()
    assert "Local stack stopped." in stack.log()
