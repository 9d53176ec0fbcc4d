"""KMS and S3 failures a caller can wait out (a 503 with Retry-After) versus faults of the
deployment (a missing grant, a wrong key or bucket: an error the route logs as a 500)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError

from marketplace.errors import ServiceUnavailable
from marketplace.observability import log

logger = logging.getLogger("marketplace.sdk")
# Worth a retry: throttling, the service's own failures, a key that is disabled or pending import.
TRANSIENT = {
    "SlowDown",
    "ServiceUnavailable",
    "InternalError",
    "RequestTimeout",
    "ThrottlingException",
    "KMSInternalException",
    "DependencyTimeoutException",
    "KeyUnavailableException",
    "DisabledException",
    "KMSInvalidStateException",
}


def code_of(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


@contextmanager
def unavailable_when_transient(service: str) -> Iterator[None]:
    """Failures a caller can wait out become a 503; anything else (a missing grant, a wrong key or
    bucket) is a fault of the deployment and stays an error, logged by the route as a 500."""
    try:
        yield
    except ClientError as exc:
        if code_of(exc) not in TRANSIENT:
            raise
        log(logger, logging.WARNING, f"{service} call failed", code=code_of(exc))
        raise ServiceUnavailable(f"the {service} is unavailable; retry shortly", retry_after=2) from exc
    except BotoCoreError as exc:
        log(logger, logging.WARNING, f"{service} call failed", error=str(exc))
        raise ServiceUnavailable(f"the {service} is unavailable; retry shortly", retry_after=2) from exc
