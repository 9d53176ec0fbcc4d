"""The local stack's names, in one place: stage, region, token issuer, and what resources are called."""

from __future__ import annotations

from pathlib import Path

from chalice.utils import to_cfn_resource_name

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STATE_DIR = ROOT / ".local"

APP_NAME = "marketplace"
STAGE = "local"
REGION = "cn-north-1"  # the deployment's region: ARNs are `arn:aws-cn:...` locally too
PARTITION = "aws-cn"
ACCOUNT_ID = "123456789012"  # moto's default account
HOST = "127.0.0.1"

PREFIX = f"{APP_NAME}-{STAGE}-"
TABLE_PREFIX = PREFIX
EVENT_BUS_NAME = f"{APP_NAME}-{STAGE}"
EVENT_SOURCE = APP_NAME

# Tokens the local stack accepts carry these; nothing else about them differs from Cognito's.
TOKEN_ISSUER = "https://issuer.local.invalid/marketplace-local"
TOKEN_AUDIENCE = "marketplace-local"

LAMBDA_ROLE_NAME = f"{PREFIX}lambda"
STATES_ROLE_NAME = f"{PREFIX}states"

# Files in the state dir.
PRIVATE_KEY_FILE = "signing-key.pem"
JWKS_FILE = "jwks.json"
STACK_FILE = "stack.json"  # URLs and figures of the running stack; removed on a clean stop
SCHEDULES_FILE = "schedules.json"  # the scheduler's heartbeat: runs per scheduled function


def resource_name(name: str) -> str:
    """Queues, the bucket, the key alias, state machines: `marketplace-local-<name>`."""
    return f"{PREFIX}{name}"


def function_name(handler_name: str) -> str:
    """The Lambda function of a Chalice handler, named as `chalice package` names it per stage."""
    return f"{PREFIX}{handler_name}"


def placeholder(name: str) -> str:
    """The CamelCase stem of an ASL `${...}` placeholder, as Chalice names CloudFormation resources."""
    return to_cfn_resource_name(name)
