"""IAM without wildcards, encrypted and recoverable tables, the authorizer, problem+json errors."""

from __future__ import annotations

import json
from typing import Any

from infra import names
from infra.definitions import OPEN_DATA_PUBLIC_PREFIX, table_specs
from infra.gateway_responses import RESPONSES
from infra.policies import XRAY_ACTIONS
from infra.workflows import LOG_DELIVERY_ACTIONS
from marketplace.web.http import ROUTES
from tests.infra.conftest import as_list, of_type, policy_documents, statements

# The only actions IAM accepts solely with Resource "*": they have no resource-level permissions.
RESOURCE_STAR_ACTIONS = {
    *XRAY_ACTIONS,
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    *LOG_DELIVERY_ACTIONS,
}


def test_no_statement_anywhere_has_a_wildcard_action(template: dict[str, Any]) -> None:
    for logical_id, kind, document in policy_documents(template):
        for statement in statements(document):
            for key in ("Action", "NotAction"):
                for action in as_list(statement.get(key, [])):
                    assert "*" not in action, f"{logical_id} ({kind}): {action}"


def test_resource_star_only_where_the_api_requires_it(template: dict[str, Any]) -> None:
    for logical_id, kind, document in policy_documents(template):
        for statement in statements(document):
            if "*" not in as_list(statement.get("Resource", [])):
                continue
            if kind == "key":
                continue  # in a key policy "*" means the key itself
            assert set(as_list(statement["Action"])) <= RESOURCE_STAR_ACTIONS, f"{logical_id}: {statement}"


def test_function_roles_are_scoped_to_this_stacks_resources(resources: dict[str, Any]) -> None:
    for logical_id, role in of_type(resources, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in statements(policy["PolicyDocument"]):
                assert statement["Effect"] == "Allow", logical_id
                assert "NotAction" not in statement and "NotResource" not in statement


def test_public_routes_without_store_access_get_no_data_actions(resources: dict[str, Any]) -> None:
    for name in ("health", "me", "openapi"):
        role = resources[f"{name.capitalize()}FunctionRole"]
        actions = {
            a for s in role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"] for a in s["Action"]
        }
        assert actions == {"logs:CreateLogStream", "logs:PutLogEvents", *XRAY_ACTIONS}, name


def test_every_table_is_on_demand_encrypted_recoverable_and_protected(resources: dict[str, Any]) -> None:
    tables = of_type(resources, "AWS::DynamoDB::Table")
    assert tables
    for logical_id, table in tables.items():
        properties = table["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST", logical_id
        assert properties["SSESpecification"]["SSEEnabled"] is True
        assert properties["SSESpecification"]["SSEType"] == "KMS"
        assert properties["SSESpecification"]["KMSMasterKeyId"] == {"Fn::GetAtt": [names.DATA_KEY, "Arn"]}
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert properties["DeletionProtectionEnabled"] is True
        assert table["DeletionPolicy"] == "Retain"


def test_tables_are_the_ones_the_models_define(resources: dict[str, Any]) -> None:
    tables = of_type(resources, "AWS::DynamoDB::Table")
    specs = {spec.logical_id: spec for spec in table_specs()}
    assert set(tables) == set(specs)
    for logical_id, spec in specs.items():
        properties = tables[logical_id]["Properties"]
        assert properties["KeySchema"] == spec.key_schema
        assert properties["AttributeDefinitions"] == spec.attribute_definitions
        assert properties.get("GlobalSecondaryIndexes", []) == spec.global_secondary_indexes
        ttl = properties.get("TimeToLiveSpecification")
        assert (ttl or {}).get("AttributeName") == spec.ttl_attribute
        assert properties["TableName"] == {"Fn::Sub": "${AWS::StackName}-" + spec.logical_suffix}


def test_functions_find_the_tables_by_their_prefix(resources: dict[str, Any]) -> None:
    for function in of_type(resources, "AWS::Serverless::Function").values():
        assert function["Properties"]["Environment"]["Variables"]["TABLE_PREFIX"] == {
            "Fn::Sub": "${AWS::StackName}-"
        }


def test_no_deployed_function_accepts_a_local_jwks_url(resources: dict[str, Any]) -> None:
    # JWKS_ALLOW_INSECURE_LOCAL lets a file:// or loopback http:// JWKS through: the local stack's
    # and the tests' only (docs/adr/0004-token-verification.md).
    for logical_id, function in of_type(resources, "AWS::Serverless::Function").items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert "JWKS_ALLOW_INSECURE_LOCAL" not in variables, logical_id


def test_protected_routes_have_the_cognito_authorizer_and_public_ones_none(resources: dict[str, Any]) -> None:
    body = resources[names.REST_API]["Properties"]["DefinitionBody"]
    condition, definitions, _ = body["securityDefinitions"]["Fn::If"]
    assert condition == names.HAS_USER_POOLS
    assert definitions[names.AUTHORIZER]["x-amazon-apigateway-authtype"] == "cognito_user_pools"
    for spec in ROUTES:
        method = body["paths"][spec.path][spec.method.lower()]
        if spec.roles:
            assert method["security"]["Fn::If"][1] == [{names.AUTHORIZER: []}], spec.name
        else:
            assert "security" not in method, spec.name


def test_the_user_pool_has_a_group_per_role_and_the_claims_the_code_reads(resources: dict[str, Any]) -> None:
    groups = {
        g["Properties"]["GroupName"] for g in of_type(resources, "AWS::Cognito::UserPoolGroup").values()
    }
    assert groups == {"admin", "regulator", "owner", "agency"}
    schema = {a["Name"] for a in resources[names.USER_POOL]["Properties"]["Schema"]}
    assert schema == {"org_id", "industries"}


def test_the_stage_traces_logs_access_encrypted_and_throttles(resources: dict[str, Any]) -> None:
    api = resources[names.REST_API]["Properties"]
    assert api["TracingEnabled"] is True
    assert api["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": [names.API_ACCESS_LOG_GROUP, "Arn"]}
    assert "KmsKeyId" in resources[names.API_ACCESS_LOG_GROUP]["Properties"]
    settings = api["MethodSettings"][0]
    assert settings["ThrottlingRateLimit"] > 0 and settings["ThrottlingBurstLimit"] > 0


def test_gateway_responses_are_problem_documents(resources: dict[str, Any]) -> None:
    responses = resources[names.REST_API]["Properties"]["GatewayResponses"]
    assert {"DEFAULT_4XX", "DEFAULT_5XX", "UNAUTHORIZED", "ACCESS_DENIED", "THROTTLED"} <= set(responses)
    for kind, response in responses.items():
        assert response["ResponseParameters"]["Headers"]["Content-Type"] == "'application/problem+json'"
        rendered = response["ResponseTemplates"]["application/json"].replace(
            "$context.error.messageString", '"an error"'
        )
        problem = json.loads(rendered)
        assert {"type", "title", "detail", "instance"} <= set(problem), kind
        if kind in RESPONSES:
            assert problem["status"] == int(response["StatusCode"]) == RESPONSES[kind][0]


def test_the_bucket_is_private_versioned_encrypted_and_tls_only(resources: dict[str, Any]) -> None:
    bucket = resources[names.DOCUMENTS_BUCKET]["Properties"]
    rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert rule["SSEAlgorithm"] == "aws:kms"
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    (deny,) = resources[names.DOCUMENTS_BUCKET_POLICY]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_keys_rotate_where_kms_can_and_the_signing_key_is_p256(resources: dict[str, Any]) -> None:
    assert resources[names.DATA_KEY]["Properties"]["EnableKeyRotation"] is True
    signing = resources[names.SIGNING_KEY]["Properties"]
    assert (signing["KeySpec"], signing["KeyUsage"]) == ("ECC_NIST_P256", "SIGN_VERIFY")
    assert "rotat" in resources[names.SIGNING_KEY]["Metadata"]["why"]


def _allows_everyone(statement: dict[str, Any]) -> bool:
    principal = statement.get("Principal")
    everyone = principal == "*" or (isinstance(principal, dict) and "*" in as_list(principal.get("AWS", [])))
    return statement["Effect"] == "Allow" and everyone


def test_the_only_public_grant_is_reading_objects_under_the_open_data_export_prefix(
    template: dict[str, Any],
) -> None:
    """Public by design (the OCDS bulk export), and nothing more: one Allow to everyone, s3:GetObject
    on `ocds/*` of the open-data bucket; no listing, no other key, no other bucket or resource."""
    public = [
        (logical_id, statement)
        for logical_id, kind, document in policy_documents(template)
        for statement in statements(document)
        if _allows_everyone(statement)
    ]
    assert public == [
        (
            names.OPEN_DATA_BUCKET_POLICY,
            {
                "Sid": "PublicReadOfTheExport",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": {"Fn::Sub": f"${{{names.OPEN_DATA_BUCKET}.Arn}}/{OPEN_DATA_PUBLIC_PREFIX}*"},
            },
        )
    ]
    assert OPEN_DATA_PUBLIC_PREFIX.endswith("/") and len(OPEN_DATA_PUBLIC_PREFIX) > 1


def test_the_open_data_bucket_allows_the_public_policy_but_no_public_acl(resources: dict[str, Any]) -> None:
    bucket = resources[names.OPEN_DATA_BUCKET]
    properties = bucket["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": False,
        "RestrictPublicBuckets": False,
    }
    assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert "AccessControl" not in properties  # no canned ACL either
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")
    (deny, _public) = resources[names.OPEN_DATA_BUCKET_POLICY]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert "s3:GetObject" in deny["Action"] and deny["Principal"] == "*"  # anonymous reads too: TLS only


def test_the_open_data_bucket_is_encrypted_with_s3_keys_and_says_why_not_kms(
    resources: dict[str, Any],
) -> None:
    bucket = resources[names.OPEN_DATA_BUCKET]
    (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert "anonymous" in bucket["Metadata"]["encryption"]
    skipped = {check["id"]: check["comment"] for check in bucket["Metadata"]["checkov"]["skip"]}
    assert skipped["CKV_AWS_145"] == bucket["Metadata"]["encryption"]


def test_every_other_bucket_blocks_all_public_access(resources: dict[str, Any]) -> None:
    for logical_id, bucket in of_type(resources, "AWS::S3::Bucket").items():
        if logical_id != names.OPEN_DATA_BUCKET:
            assert all(bucket["Properties"]["PublicAccessBlockConfiguration"].values()), logical_id
