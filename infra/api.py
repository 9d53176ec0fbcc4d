"""The REST API Chalice emits, adjusted: each method integrates with its own function, which API
Gateway invokes with one integration role; protected methods carry the Cognito authorizer, and the
stage traces, logs access and throttles."""

from __future__ import annotations

import json

from infra import names
from infra.cfn import Json, arn, get_att, sub
from infra.gateway_responses import gateway_responses
from infra.identity import if_user_pools
from infra.keys import data_key_arn
from infra.lambdas import LOG_RETENTION_DAYS
from infra.operations import Operation

THROTTLING_RATE_LIMIT = 100  # requests per second, whole stage
THROTTLING_BURST_LIMIT = 200
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTimeEpoch",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "integrationLatency": "$context.integrationLatency",
        "responseLatency": "$context.responseLatency",
        "errorType": "$context.error.responseType",
        "subject": "$context.authorizer.claims.sub",
        "xrayTraceId": "$context.xrayTraceId",
    },
    separators=(",", ":"),
)


def integration_uri(function_id: str) -> Json:
    return sub(
        "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
        f"${{{function_id}.Arn}}/invocations"
    )


def _security_definitions() -> Json:
    return if_user_pools(
        {
            names.AUTHORIZER: {
                "type": "apiKey",
                "name": "Authorization",
                "in": "header",
                "x-amazon-apigateway-authtype": "cognito_user_pools",
                "x-amazon-apigateway-authorizer": {
                    "type": "cognito_user_pools",
                    "providerARNs": [get_att(names.USER_POOL, "Arn")],
                },
            }
        }
    )


def _paths(routes: list[Operation]) -> Json:
    paths: Json = {}
    for op in routes:
        integration = {
            "uri": integration_uri(op.function_id),
            "credentials": get_att(names.API_INVOKE_ROLE, "Arn"),
        }
        method: Json = {"x-amazon-apigateway-integration": integration}
        if op.protected:
            method["security"] = if_user_pools([{names.AUTHORIZER: []}])
        paths.setdefault(op.path, {})[op.method.lower()] = method
    return paths


def rest_api_overrides(routes: list[Operation]) -> Json:
    """Merged over Chalice's RestAPI: only the keys named here change."""
    return {
        # Deployed once API Gateway can write its logs and invoke the functions.
        "DependsOn": [names.API_GATEWAY_ACCOUNT, *invoke_policy_ids(routes)],
        "Properties": {
            "DefinitionBody": {"securityDefinitions": _security_definitions(), "paths": _paths(routes)},
            "TracingEnabled": True,
            "AccessLogSetting": {
                "DestinationArn": get_att(names.API_ACCESS_LOG_GROUP, "Arn"),
                "Format": ACCESS_LOG_FORMAT,
            },
            "MethodSettings": [
                {
                    "ResourcePath": "/*",
                    "HttpMethod": "*",
                    "ThrottlingRateLimit": THROTTLING_RATE_LIMIT,
                    "ThrottlingBurstLimit": THROTTLING_BURST_LIMIT,
                    "MetricsEnabled": True,
                    "DataTraceEnabled": False,
                }
            ],
            "GatewayResponses": gateway_responses(),
        },
        "Metadata": {
            "why": "Authorization is the Cognito user-pool authorizer on protected methods, checked again "
            "in the function (role and ownership); in the China regions (no user pools) the function's own "
            "token verification is the only check. No execution logging or data tracing: access logs and "
            "X-Ray cover requests without writing bodies (personal data) to logs. No cache: answers "
            "depend on the caller and change with every write. No WAF in the template: a web ACL is "
            "associated per account and region by the platform team.",
        },
    }


def access_logging() -> dict[str, Json]:
    """The access log group, and the account-level role API Gateway needs to write any log."""
    return {
        names.API_ACCESS_LOG_GROUP: {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": sub("/aws/apigateway/${AWS::StackName}/access"),
                "RetentionInDays": LOG_RETENTION_DAYS,
                "KmsKeyId": data_key_arn(),
            },
        },
        names.API_GATEWAY_LOGS_ROLE: {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": "lets API Gateway write this account's API logs",
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "apigateway.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "Policies": [
                    {
                        "PolicyName": "write-api-logs",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": [
                                        "logs:CreateLogGroup",
                                        "logs:CreateLogStream",
                                        "logs:DescribeLogGroups",
                                        "logs:DescribeLogStreams",
                                        "logs:PutLogEvents",
                                    ],
                                    "Resource": arn("logs", "log-group:*"),
                                }
                            ],
                        },
                    }
                ],
            },
            "Metadata": {
                "why": "Scoped to this account's log groups in this region, not to one group: the role is "
                "account-wide (API Gateway has one per account and region) and also writes the execution "
                "log groups it names itself.",
            },
        },
        names.API_GATEWAY_ACCOUNT: {
            "Type": "AWS::ApiGateway::Account",
            "Properties": {"CloudWatchRoleArn": get_att(names.API_GATEWAY_LOGS_ROLE, "Arn")},
            "Metadata": {
                "why": "API Gateway writes access logs only once the account's CloudWatch role is set; this "
                "sets it. Another stack in the account setting it points it at an equivalent role.",
            },
        },
    }


# IAM allows 6,144 characters (whitespace aside) in a managed policy. The longest ARN of a function
# CloudFormation names (64 characters, aws-us-gov partition, a 12-digit account) is 122 characters;
# with its quotes and comma, 40 of them and the statement take under 5,200.
FUNCTIONS_PER_INVOKE_POLICY = 40
INVOKE_WHY = (
    "API Gateway invokes every route function with this one role (each method's integration "
    "`credentials`) instead of one AWS::Lambda::Permission per function: a resource fewer per route, which "
    "keeps the stack under CloudFormation's 500 (docs/adr/0018-resource-count.md). Least privilege "
    "holds: only API Gateway may assume it, and only for an API whose integration names it, which "
    "takes iam:PassRole on it in this account (a role cannot be passed to another account); no "
    "aws:SourceAccount condition, as API Gateway does not set that key when it assumes integration "
    "credentials. It may only lambda:InvokeFunction, and only on the route functions, "
    "each ARN listed (no task function, no wildcard). Which method invokes which function is the API "
    "definition of this stack (tests/infra/test_template_functions.py checks each route integrates with "
    "its own function); a function's own role, not this one, bounds what an invocation can do."
)


def invoke_policy_ids(routes: list[Operation]) -> list[str]:
    count = -(-len(routes) // FUNCTIONS_PER_INVOKE_POLICY)
    return [f"{names.API_INVOKE_ROLE}Policy{i + 1}" for i in range(count)]


def invoke_role(routes: list[Operation]) -> dict[str, Json]:
    """The integration role API Gateway assumes to invoke the route functions, and the managed
    policies (several: IAM's size limit) that let it invoke exactly those functions."""
    resources: dict[str, Json] = {
        names.API_INVOKE_ROLE: {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": "lets this stack's API invoke its route functions, and nothing else",
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "apigateway.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                            # No aws:SourceAccount/SourceArn condition: API Gateway does not set them
                            # when it assumes integration credentials, so one would fail every route.
                        }
                    ],
                },
            },
            "Metadata": {"why": INVOKE_WHY},
        }
    }
    policy_ids = invoke_policy_ids(routes)
    for index, policy_id in enumerate(policy_ids):
        chunk = routes[index * FUNCTIONS_PER_INVOKE_POLICY : (index + 1) * FUNCTIONS_PER_INVOKE_POLICY]
        resources[policy_id] = {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {
                "Description": f"invoke route functions ({index + 1} of {len(policy_ids)})",
                "Roles": [{"Ref": names.API_INVOKE_ROLE}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "InvokeRouteFunctions",
                            "Effect": "Allow",
                            "Action": "lambda:InvokeFunction",
                            "Resource": [get_att(op.function_id, "Arn") for op in chunk],
                        }
                    ],
                },
            },
        }
    return resources
