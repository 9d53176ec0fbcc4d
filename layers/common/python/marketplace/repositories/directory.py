"""The user directory (the Cognito user pool): the only code that creates and removes users."""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from marketplace.errors import Conflict, NotImplementedHere, ServiceUnavailable
from marketplace.observability import log
from marketplace.repositories.base import forget_sdk_clients, sdk_client
from marketplace.settings import get_settings

logger = logging.getLogger("marketplace.directory")


def _cognito() -> Any:
    # A pool id is "<region>_<id>": the pool may live in another region than the functions
    # (AWS China regions have no Cognito user pools).
    return sdk_client("cognito-idp", region=_pool().split("_", 1)[0])


def reset_client() -> None:
    forget_sdk_clients("cognito-idp")


def _pool() -> str:
    pool = get_settings().user_pool_id
    if not pool:
        raise NotImplementedHere(
            "this deployment's users are managed by its external identity provider, not by the platform"
        )
    return pool


def create_user(username: str, *, email: str, name: str, org_id: str, group: str) -> str:
    """Create a user who acts for `org_id` in `group` (an invitation is sent); returns its subject."""
    pool = _pool()
    try:
        created = _cognito().admin_create_user(
            UserPoolId=pool,
            Username=username,
            UserAttributes=[
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
                {"Name": "name", "Value": name},
                {"Name": "custom:org_id", "Value": org_id},
            ],
            DesiredDeliveryMediums=["EMAIL"],
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "UsernameExistsException":
            raise Conflict(f"the user name {username} is taken") from exc
        raise _unavailable(exc) from exc
    except BotoCoreError as exc:
        raise _unavailable(exc) from exc
    try:
        _cognito().admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName=group)
    except (ClientError, BotoCoreError) as exc:
        # A user without its group could never sign in for a role, yet would hold the name: undo
        # the creation, so that the administrator's retry starts afresh.
        _delete_quietly(pool, username)
        raise _unavailable(exc) from exc
    attributes = {a["Name"]: a["Value"] for a in created["User"].get("Attributes", [])}
    return str(attributes.get("sub", ""))


def _delete_quietly(pool: str, username: str) -> None:
    try:
        _cognito().admin_delete_user(UserPoolId=pool, Username=username)
    except (ClientError, BotoCoreError) as exc:
        log(logger, logging.ERROR, "could not undo a half-created user", username=username, error=str(exc))


def remove_user(username: str) -> None:
    """Sign the user out everywhere and delete it; a user already gone is fine."""
    pool = _pool()
    try:
        _cognito().admin_user_global_sign_out(UserPoolId=pool, Username=username)
        _cognito().admin_delete_user(UserPoolId=pool, Username=username)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code", "") == "UserNotFoundException":
            return
        raise _unavailable(exc) from exc
    except BotoCoreError as exc:
        raise _unavailable(exc) from exc


def _unavailable(exc: Exception) -> ServiceUnavailable:
    log(logger, logging.ERROR, "user directory call failed", error=str(exc))
    return ServiceUnavailable("the user directory is unavailable; retry shortly", retry_after=2)
