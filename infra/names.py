"""Logical ids of the resources every part refers to, and of the ones Chalice emits."""

from __future__ import annotations

from infra.cfn import camel

# Chalice's own resources (chalice package, SAM format).
REST_API = "RestAPI"
API_HANDLER = "APIHandler"
API_HANDLER_ROLE = "ApiHandlerRole"
API_HANDLER_PERMISSION = "APIHandlerInvokePermission"
API_HANDLER_OUTPUTS = ("APIHandlerName", "APIHandlerArn")

# Ours.
DATA_KEY = "DataKey"
DATA_KEY_ALIAS = "DataKeyAlias"
SIGNING_KEY = "SigningKey"
SIGNING_KEY_ALIAS = "SigningKeyAlias"
SEALING_KEY = "SealingKey"
SEALING_KEY_ALIAS = "SealingKeyAlias"
EVENT_BUS = "EventBus"
DOCUMENTS_BUCKET = "DocumentsBucket"
DOCUMENTS_BUCKET_POLICY = "DocumentsBucketPolicy"
OPEN_DATA_BUCKET = "OpenDataBucket"
OPEN_DATA_BUCKET_POLICY = "OpenDataBucketPolicy"
USER_POOL = "UserPool"
USER_POOL_CLIENT = "UserPoolClient"
COMMON_LAYER = "CommonLayer"
OPEN_DATA_LAYER = "OpenDataLayer"
API_ACCESS_LOG_GROUP = "ApiAccessLogGroup"
API_GATEWAY_ACCOUNT = "ApiGatewayAccount"
API_GATEWAY_LOGS_ROLE = "ApiGatewayCloudWatchRole"
API_INVOKE_ROLE = "ApiInvokeRole"  # the integration credentials of every route (infra/api.py)
AUTHORIZER = "CognitoUserPool"  # the swagger securityDefinitions name

# Parameters and conditions.
STAGE = "Stage"
LOG_LEVEL = "LogLevel"
OCID_PREFIX = "OcidPrefix"  # the district's OCDS ocid prefix (settings.ocid_prefix)
RESERVED_CONCURRENCY = "ReservedConcurrencyPerFunction"
NEVER = "ChaliceApiHandlerEnabled"  # always false: Chalice's all-routes function is never created
HAS_RESERVED_CONCURRENCY = "HasReservedConcurrency"
ALARM_TOPIC = "AlarmTopicArn"
HAS_ALARM_TOPIC = "HasAlarmTopic"
HAS_USER_POOLS = "CognitoUserPoolsAvailable"  # false in the China regions, which have no user pools
EXTERNAL_TOKEN_ISSUER = "ExternalTokenIssuer"
EXTERNAL_JWKS_URL = "ExternalJwksUrl"
EXTERNAL_TOKEN_AUDIENCE = "ExternalTokenAudience"


def user_group(role: str) -> str:
    return camel(role) + "Group"


def queue(name: str) -> str:
    return camel(name) + "Queue"


def dead_letter_queue(name: str) -> str:
    return camel(name) + "DeadLetterQueue"


def dead_letter_alarm(name: str) -> str:
    return camel(name) + "DeadLetterAlarm"


def queue_policy(name: str) -> str:
    return camel(name) + "QueuePolicy"


def event_rule(name: str) -> str:
    return camel(name) + "Rule"


def state_machine(name: str) -> str:
    return camel(name) + "StateMachine"
