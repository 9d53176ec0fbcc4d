"""One function and one role per operation, each wired to its own route, traced, with the layer."""

from __future__ import annotations

import json
from typing import Any

from infra import lambdas, names
from infra.build import BuildResult
from infra.definitions import OPEN_DATA_FUNCTIONS
from infra.operations import Operation, load_app
from marketplace.web.http import ROUTES
from tests.infra.conftest import as_list, of_type, statements


def _functions(resources: dict[str, Any]) -> dict[str, Any]:
    return of_type(resources, "AWS::Serverless::Function")


def test_there_is_one_function_per_route_and_per_schedule(resources: dict[str, Any]) -> None:
    app = load_app()
    functions = _functions(resources)
    # Routes, schedules and queue consumers (event sources), and Step Functions tasks (pure functions).
    assert len(functions) == len(ROUTES) + len(app.event_sources) + len(app.pure_lambda_functions)
    operations = [f["Metadata"]["operation"] for f in functions.values()]
    for spec in ROUTES:
        assert operations.count(spec.name) == 1, spec.name


def test_every_function_has_a_role_of_its_own(resources: dict[str, Any]) -> None:
    roles = [f["Properties"]["Role"]["Fn::GetAtt"][0] for f in _functions(resources).values()]
    assert len(set(roles)) == len(roles)
    for role in roles:
        assert resources[role]["Type"] == "AWS::IAM::Role"
        assert resources[role]["Metadata"]["operation"]


def test_the_schedule_runs_with_its_own_role_not_chalices_default(resources: dict[str, Any]) -> None:
    relay = resources["RelayOutbox"]
    role = resources[relay["Properties"]["Role"]["Fn::GetAtt"][0]]
    policy = role["Properties"]["Policies"][0]
    assert policy["PolicyName"] == "relay_outbox"
    actions = {a for s in policy["PolicyDocument"]["Statement"] for a in s["Action"]}
    assert {"dynamodb:Scan", "dynamodb:DeleteItem", "events:PutEvents"} <= actions
    assert relay["Properties"]["Events"]["RelayOutboxEvent"]["Type"] == "Schedule"


def test_every_function_traces_runs_on_arm_and_uses_the_common_layer(resources: dict[str, Any]) -> None:
    for logical_id, function in _functions(resources).items():
        properties = function["Properties"]
        assert properties["Tracing"] == "Active", logical_id
        layers = [{"Ref": names.COMMON_LAYER}]
        if function["Metadata"]["operation"] in OPEN_DATA_FUNCTIONS:
            layers.append({"Ref": names.OPEN_DATA_LAYER})
        assert properties["Layers"] == layers, logical_id
        assert properties["Architectures"] == ["arm64"], logical_id
        assert properties["Runtime"] == "python3.11", logical_id
        if properties["Handler"] == "app.app":  # a route: API Gateway gives up at 29 s
            assert properties["Timeout"] < 29, logical_id
        assert properties["Environment"]["Variables"]["AWS_XRAY_SDK_ENABLED"] == "true"
        assert (
            "ReservedConcurrencyPerFunction"
            in function["Metadata"]["cfn_nag"]["rules_to_suppress"][1]["reason"]
        )


def test_route_functions_share_chalices_code_and_handler(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    chalice_code = template["Resources"][names.API_HANDLER]["Properties"]["CodeUri"]
    for spec in ROUTES:
        function = resources[f"{_camel(spec.name)}Function"]
        assert function["Properties"]["CodeUri"] == chalice_code
        assert function["Properties"]["Handler"] == "app.app"


def test_each_route_integrates_with_its_own_function(resources: dict[str, Any]) -> None:
    paths = resources[names.REST_API]["Properties"]["DefinitionBody"]["paths"]
    for spec in ROUTES:
        function_id = f"{_camel(spec.name)}Function"
        uri = paths[spec.path][spec.method.lower()]["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
        assert f"${{{function_id}.Arn}}" in uri, spec.name


def test_the_api_invokes_every_route_function_with_its_one_role_and_nothing_else(
    resources: dict[str, Any],
) -> None:
    """No function's resource policy is needed: every method's integration names the invoke role,
    whose managed policies allow lambda:InvokeFunction on exactly the route functions."""
    paths = resources[names.REST_API]["Properties"]["DefinitionBody"]["paths"]
    role_arn = {"Fn::GetAtt": [names.API_INVOKE_ROLE, "Arn"]}
    for spec in ROUTES:
        integration = paths[spec.path][spec.method.lower()]["x-amazon-apigateway-integration"]
        assert integration["credentials"] == role_arn, spec.name
    role = resources[names.API_INVOKE_ROLE]["Properties"]
    assert "Policies" not in role and "ManagedPolicyArns" not in role
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    # API Gateway sets no aws:SourceAccount when it assumes integration credentials: a condition on it
    # would refuse every request; iam:PassRole (same account only) guards who may name the role.
    assert "Condition" not in trust
    assert "iam:PassRole" in resources[names.API_INVOKE_ROLE]["Metadata"]["why"]
    invocable: list[str] = []
    for logical_id, policy in of_type(resources, "AWS::IAM::ManagedPolicy").items():
        if {"Ref": names.API_INVOKE_ROLE} not in policy["Properties"].get("Roles", []):
            continue
        assert policy["Properties"]["Roles"] == [{"Ref": names.API_INVOKE_ROLE}], logical_id
        (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert (statement["Effect"], statement["Action"]) == ("Allow", "lambda:InvokeFunction")
        assert set(statement) == {"Sid", "Effect", "Action", "Resource"}, logical_id
        for target in statement["Resource"]:
            function_id, attribute = target["Fn::GetAtt"]
            assert attribute == "Arn"
            invocable.append(function_id)
        assert logical_id in resources[names.REST_API]["DependsOn"]  # deployed once it can invoke
    assert sorted(invocable) == sorted(f"{_camel(spec.name)}Function" for spec in ROUTES)
    users = [r for r in resources.values() if names.API_INVOKE_ROLE in json.dumps(r.get("Properties", {}))]
    assert len(users) == 1 + len(of_type(resources, "AWS::IAM::ManagedPolicy"))  # only the API uses it


def test_no_function_has_a_resource_policy_for_the_api(resources: dict[str, Any]) -> None:
    # The schedules' permissions are SAM's, made from their Events (tests/infra/test_template_size.py).
    assert of_type(resources, "AWS::Lambda::Permission") == {}


def test_each_invoke_policy_fits_iams_limit_with_the_longest_function_arns(resources: dict[str, Any]) -> None:
    longest = "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:" + "f" * 64
    for logical_id, policy in of_type(resources, "AWS::IAM::ManagedPolicy").items():
        document = json.loads(json.dumps(policy["Properties"]["PolicyDocument"]))
        for statement in document["Statement"]:
            statement["Resource"] = [longest for _ in as_list(statement["Resource"])]
        size = len(json.dumps(document, separators=(",", ":")))
        assert size <= 6144 * 0.9, f"{logical_id}: {size} characters; IAM allows 6,144"


def test_each_function_writes_its_areas_log_group_and_no_other(resources: dict[str, Any]) -> None:
    """One log group per area (docs/adr/0018-resource-count.md), encrypted and kept a year; a
    function's role may write only the group its function logs to, which is its own area's."""
    groups = of_type(resources, "AWS::Logs::LogGroup")
    areas_with_functions: set[str] = set()
    for logical_id, function in _functions(resources).items():
        properties = function["Properties"]
        area = properties["Environment"]["Variables"]["MARKETPLACE_AREA"]
        group_id = properties["LoggingConfig"]["LogGroup"]["Ref"]
        assert groups[group_id]["Metadata"]["area"] == area, logical_id
        areas_with_functions.add(area)
        role = resources[properties["Role"]["Fn::GetAtt"][0]]
        written = [
            statement["Resource"]
            for policy in role["Properties"]["Policies"]
            for statement in statements(policy["PolicyDocument"])
            if any(action.startswith("logs:") for action in as_list(statement["Action"]))
        ]
        assert written == [{"Fn::GetAtt": [group_id, "Arn"]}], logical_id
    area_groups = {k: g for k, g in groups.items() if "area" in g.get("Metadata", {})}
    assert sorted(g["Metadata"]["area"] for g in area_groups.values()) == sorted(areas_with_functions)
    for logical_id, group in groups.items():
        assert group["Properties"]["RetentionInDays"] == lambdas.LOG_RETENTION_DAYS, logical_id
        assert group["Properties"]["KmsKeyId"], logical_id


def test_chalices_all_routes_function_is_never_created(template: dict[str, Any]) -> None:
    for logical_id in (names.API_HANDLER, names.API_HANDLER_PERMISSION, names.API_HANDLER_ROLE):
        assert template["Resources"][logical_id]["Condition"] == names.NEVER
    stack_name, other = template["Conditions"][names.NEVER]["Fn::Equals"]
    assert stack_name == {"Ref": "AWS::StackName"}
    assert " " in other  # stack names cannot contain spaces: the condition is always false


def test_the_function_package_and_layer_are_small(built: BuildResult) -> None:
    assert built.function_zip_bytes < 200 * 1024
    # 24 MiB with bytecode and cryptography (docs/adr/0009-layer-size.md); Lambda's limit is 250 MB.
    assert built.layer_bytes <= 24 * 1024 * 1024


def test_the_layer_leaves_boto3_to_the_runtime(built: BuildResult) -> None:
    python = built.template_path.parent / "layer" / "python"
    present = {p.name.split("-")[0].lower() for p in python.iterdir()}
    for name in (
        "boto3",
        "botocore",
        "s3transfer",
        "urllib3",
        "jmespath",
        "dateutil",
        "python_dateutil",
        "six",
    ):
        assert name not in present, name
    assert not (python / "six.py").exists()
    assert {"marketplace", "pynamodb", "pydantic", "pydantic_core", "jwt", "aws_xray_sdk"} <= present
    assert "cryptography" in present


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def test_each_function_loads_only_the_area_that_serves_its_operation(resources: dict[str, Any]) -> None:
    """A deployed function imports one area (chalicelib/areas.py); that area must hold its route."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    by_area: dict[str, list[tuple[str, str]]] = {}
    for function in _functions(resources).values():
        area = function["Properties"]["Environment"]["Variables"].get("MARKETPLACE_AREA")
        assert area, function["Metadata"]["operation"]
        spec = next((r for r in ROUTES if r.name == function["Metadata"]["operation"]), None)
        if spec is not None:
            by_area.setdefault(area, []).append((spec.path, spec.method))
    probe = "import app, json; print(json.dumps({p: sorted(m) for p, m in app.app.routes.items()}))"
    for area, expected in by_area.items():
        paths = [root / "layers/common/python", root / "functions", root]
        env = {**os.environ, "MARKETPLACE_AREA": area, "PYTHONPATH": os.pathsep.join(map(str, paths))}
        out = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=root / "functions",
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        served = json.loads(out.strip().splitlines()[-1])
        for path, method in expected:
            assert method in served.get(path, []), (area, path, method)
        assert len(served) < len({r.path for r in ROUTES}), f"{area} loads every area"


def test_every_function_loads_an_area_the_app_has(resources: dict[str, Any]) -> None:
    # A function whose MARKETPLACE_AREA is not an area fails at import: every invocation would crash.
    from chalicelib.areas import AREAS

    for logical_id, function in _functions(resources).items():
        variables = function["Properties"]["Environment"]["Variables"]
        if logical_id == names.API_HANDLER:
            continue
        assert variables.get("MARKETPLACE_AREA") in AREAS, logical_id


def test_only_the_functions_compiling_ocds_records_load_the_open_data_layer() -> None:
    """Stand-ins: the layer list depends on the operation's name alone, whether or not the app
    defines the open-data functions yet (a build without them warns, and no function loads it)."""
    for name in OPEN_DATA_FUNCTIONS:
        op = Operation(name=name, function_id="F", role_id="R", log_group_id="L")
        assert lambdas.layers(op) == [{"Ref": names.COMMON_LAYER}, {"Ref": names.OPEN_DATA_LAYER}]
    other = Operation(name="get_owner", function_id="F", role_id="R", log_group_id="L")
    assert lambdas.layers(other) == [{"Ref": names.COMMON_LAYER}]


def test_the_open_data_layer_is_in_the_template_and_its_missing_users_are_reported(
    resources: dict[str, Any], built: BuildResult
) -> None:
    layer = resources[names.OPEN_DATA_LAYER]["Properties"]
    assert layer["CompatibleArchitectures"] == ["arm64"] and layer["CompatibleRuntimes"] == ["python3.11"]
    defined = {f["Metadata"]["operation"] for f in _functions(resources).values()}
    assert built.open_data_functions_missing == [n for n in OPEN_DATA_FUNCTIONS if n not in defined]
    for function in _functions(resources).values():
        assert function["Properties"]["Environment"]["Variables"]["OPEN_DATA_BUCKET"] == {
            "Ref": names.OPEN_DATA_BUCKET
        }
