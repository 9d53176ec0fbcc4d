"""What every repository shares: table naming, timeouts, error translation, cursors."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PynamoDBException, TransactWriteError

from marketplace.canonical_json import canonical_json
from marketplace.errors import BadRequest, Conflict, NotFound, ServiceUnavailable
from marketplace.settings import get_settings

THROTTLING_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TransactionInProgressException",
}
CONDITION_FAILED = "ConditionalCheckFailedException"
# Cancellation reasons of a transaction, one per item.
CONDITION_CHECK_FAILED = "ConditionalCheckFailed"
TRANSACTION_CONFLICT = "TransactionConflict"


class TableMeta:
    """PynamoDB Meta defaults: API Gateway gives up after 29 s, so SDK calls must give up sooner."""

    connect_timeout_seconds = 2
    read_timeout_seconds = 5
    max_retry_attempts = 2


def table_name(suffix: str) -> str:
    return get_settings().table_prefix + suffix


_connection: Connection | None = None
_sdk_clients: dict[tuple[str, str], Any] = {}
_sdk_session: Any = None


def sdk_client(service: str, region: str | None = None) -> Any:
    """One botocore client per service (and region) and execution environment, made on first use,
    with timeouts that end well before API Gateway's 29 s; the endpoint comes from the environment
    (AWS_ENDPOINT_URL locally), as for every other client. botocore, not boto3: boto3's client is
    botocore's, and importing boto3 (s3transfer, multiprocessing, its resources) costs a cold
    start about 20 ms for nothing we use (docs/adr/0005-libraries-and-cold-start.md)."""
    global _sdk_session
    key = (service, region or get_settings().region)
    if key not in _sdk_clients:
        from botocore.config import Config
        from botocore.session import get_session

        if _sdk_session is None:
            _sdk_session = get_session()
        config = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"})
        _sdk_clients[key] = _sdk_session.create_client(service, region_name=key[1], config=config)
    return _sdk_clients[key]


def forget_sdk_clients(*services: str) -> None:
    """Forget the clients of these services, and the session that resolved their credentials
    (tests and the local stack change the environment)."""
    global _sdk_session
    for key in [k for k in _sdk_clients if k[0] in services]:
        del _sdk_clients[key]
    _sdk_session = None


def connection() -> Connection:
    """One low-level connection per execution environment, for transactions."""
    global _connection
    if _connection is None:
        settings = get_settings()
        _connection = Connection(
            region=settings.region,
            connect_timeout_seconds=TableMeta.connect_timeout_seconds,
            read_timeout_seconds=TableMeta.read_timeout_seconds,
            max_retry_attempts=TableMeta.max_retry_attempts,
        )
    return _connection


def reset_connections(models: list[Any]) -> None:
    """Forget cached connections so the next call resolves the endpoint again (tests, local stack)."""
    global _connection
    _connection = None
    for model in models:
        model._connection = None


def _reasons(error: TransactWriteError) -> list[str]:
    return [r.code for r in (error.cancellation_reasons or []) if r is not None and r.code]


@contextmanager
def translated(
    *, conflict: str = "the resource changed or already exists", missing: str = "not found"
) -> Iterator[None]:
    """Turn SDK failures into the domain errors a caller can act on."""
    try:
        yield
    except DoesNotExist as exc:
        raise NotFound(missing) from exc
    except TransactWriteError as exc:
        reasons = _reasons(exc)
        if any(code in THROTTLING_CODES for code in reasons) or exc.cause_response_code in THROTTLING_CODES:
            raise ServiceUnavailable("the data store is busy; retry shortly", retry_after=1) from exc
        if TRANSACTION_CONFLICT in reasons and CONDITION_CHECK_FAILED not in reasons:
            # Another transaction held one of the items: nothing is wrong with this one, retry it.
            raise ServiceUnavailable("the data store is busy; retry shortly", retry_after=1) from exc
        if CONDITION_CHECK_FAILED in reasons or exc.cause_response_code == "TransactionCanceledException":
            raise Conflict(conflict) from exc
        raise
    except PynamoDBException as exc:
        code = exc.cause_response_code
        if code == CONDITION_FAILED:
            raise Conflict(conflict) from exc
        if code in THROTTLING_CODES:
            raise ServiceUnavailable("the data store is busy; retry shortly", retry_after=1) from exc
        raise


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    raw = canonical_json(key)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, expected_keys: set[str]) -> dict[str, Any] | None:
    """A cursor is opaque to callers; one that was not ours is a 400, not a 500."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError) as exc:
        raise BadRequest("cursor is not valid; pass back the one a previous page returned") from exc
    # Every key attribute of every index here is a non-empty string (DynamoDB refuses empty key
    # values with a ValidationException): a cursor with anything else was forged.
    valid = (
        isinstance(key, dict)
        and set(key) == expected_keys
        and all(_non_empty_string(v) for v in key.values())
    )
    if not valid:
        raise BadRequest("cursor is not valid; pass back the one a previous page returned")
    return key


def _non_empty_string(value: Any) -> bool:
    if not isinstance(value, dict) or set(value) != {"S"}:
        return False
    return isinstance(value["S"], str) and value["S"] != ""


def query_page(
    index: Any,
    hash_value: str,
    *,
    filters: list[Any],
    limit: int,
    cursor: str | None,
    cursor_keys: set[str],
    range_condition: Any = None,
    newest_first: bool = False,
) -> tuple[list[Any], str | None]:
    """One page of a list: a Query on `index` (never a Scan) with the filters that are set. With
    filters a page may hold fewer than `limit` rows; its cursor resumes right after the last one."""
    condition: Any = None
    for extra in filters:
        if extra is not None:
            condition = extra if condition is None else condition & extra
    results = index.query(
        hash_value,
        range_condition,
        filter_condition=condition,
        scan_index_forward=not newest_first,
        limit=limit,
        last_evaluated_key=decode_cursor(cursor, cursor_keys),
        page_size=max(limit, 25),
    )
    rows = list(results)
    return rows, encode_cursor(results.last_evaluated_key)
