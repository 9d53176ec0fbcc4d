"""The process environment of the local stack: boto3 and PynamoDB pointed at moto, the app's settings
pointed at the local resources and key, and nothing that could reach a real AWS account.

Every variable below is the stack's own and replaces what the shell had; everything else (the
`RULE_*` regional-rule overrides, `LOG_LEVEL`, `REGION_TIMEZONE`, `CALENDAR_REGION`,
`IDEMPOTENCY_TTL_HOURS`) passes through as-is.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

from infra.local import naming
from infra.local.keys import jwks_url

# Removed so that no profile, session or config file can send a call anywhere but moto.
_DROPPED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN")


def use_utc() -> None:
    """moto's Wait compares a UTC `...Z` timestamp with a naive local now(): run the process in UTC.
    Call before moto starts."""
    os.environ["TZ"] = "UTC"
    time.tzset()


def local_environment(moto_url: str, moto_port: int, state_dir: Path) -> dict[str, str]:
    return {
        "TZ": "UTC",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": naming.REGION,
        "AWS_REGION": naming.REGION,
        "AWS_ENDPOINT_URL": moto_url,
        # Else DynamoDB calls resolve an account-based endpoint and escape AWS_ENDPOINT_URL.
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "AWS_XRAY_SDK_ENABLED": "false",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        # Step Functions service integrations call back to http://localhost:$MOTO_PORT.
        "MOTO_PORT": str(moto_port),
        "STAGE": naming.STAGE,
        "TABLE_PREFIX": naming.TABLE_PREFIX,
        "EVENT_BUS_NAME": naming.EVENT_BUS_NAME,
        "EVENT_SOURCE": naming.EVENT_SOURCE,
        "JWKS_URL": jwks_url(state_dir),
        # The stack's JWKS is a file:// URL: allowed only with this, never in a deployment.
        "JWKS_ALLOW_INSECURE_LOCAL": "true",
        "TOKEN_ISSUER": naming.TOKEN_ISSUER,
        "TOKEN_AUDIENCE": naming.TOKEN_AUDIENCE,
        # Empty until the local pool exists (point_at_resources); never a pool the shell names.
        "USER_POOL_ID": "",
    }


def apply(variables: Mapping[str, str], defaults: Mapping[str, str] | None = None) -> None:
    """Set the stack's variables, then `defaults` (e.g. the Chalice config's) where the shell has none,
    and make the app's cached settings, connections and clients forget the old environment."""
    for name in _DROPPED:
        os.environ.pop(name, None)
    os.environ.update(variables)
    for name, value in (defaults or {}).items():
        os.environ.setdefault(name, value)
    time.tzset()
    reset_app_caches()


def point_at_resources(
    documents_bucket: str,
    signing_key_arn: str,
    user_pool_id: str = "",
    sealing_key_arn: str = "",
    open_data_bucket: str = "",
) -> None:
    """What the template's function environment also names, known once the resources exist; then the
    app's cached settings are reset, so they read these."""
    os.environ.update(
        {
            "DOCUMENTS_BUCKET": documents_bucket,
            "SIGNING_KEY_ID": signing_key_arn,
            "SEALING_KEY_ID": sealing_key_arn,
            "USER_POOL_ID": user_pool_id,
            "OPEN_DATA_BUCKET": open_data_bucket,
        }
    )
    reset_app_caches()


def point_at_state_machines(arn_prefix: str) -> None:
    """The ARN prefix the app appends a state machine's file name to, as the template sets it."""
    os.environ["STATE_MACHINE_ARN_PREFIX"] = arn_prefix
    reset_app_caches()


def reset_app_caches() -> None:
    # Imported here: the table models read TABLE_PREFIX when they are first imported.
    from marketplace import auth
    from marketplace.repositories import directory, event_bus, letters, workflows
    from marketplace.repositories.base import reset_connections
    from marketplace.repositories.tables import ALL_MODELS
    from marketplace.services import calendar
    from marketplace.settings import reset_settings

    reset_settings()
    reset_connections(ALL_MODELS)
    event_bus.reset_client()
    workflows.reset_client()
    directory.reset_client()  # its region comes from USER_POOL_ID
    letters.reset_clients()  # and the public key cached for SIGNING_KEY_ID
    auth.clear_key_cache()
    calendar.forget_cache()
