"""The public open-data bucket (settings.open_data_bucket): the OCDS bulk export writes there."""

from __future__ import annotations

from marketplace.repositories.base import sdk_client
from marketplace.repositories.sdk_errors import unavailable_when_transient
from marketplace.settings import get_settings


def put(key: str, body: bytes, content_type: str) -> None:
    """Write (or overwrite) one object: the same key and body again leaves the same object."""
    with unavailable_when_transient("open-data store"):
        sdk_client("s3").put_object(
            Bucket=get_settings().open_data_bucket, Key=key, Body=body, ContentType=content_type
        )
