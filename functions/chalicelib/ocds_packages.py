"""What the OCDS routes share (docs/ocds.md): the packages' response shapes and their URIs. No
route here, so each OCDS area loads only its own."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from chalicelib.http import Call
from marketplace.domain.model import Model


class Publisher(Model):
    name: str


class ReleasePackage(Model):
    """An OCDS 1.1 release package (release-package-schema.json); `links.next` pages on."""

    uri: str
    version: str
    extensions: list[str]
    publishedDate: str
    publisher: Publisher
    releases: list[dict[str, Any]]
    links: dict[str, str] | None = None


class RecordPackage(Model):
    """An OCDS 1.1 record package (record-package-schema.json) holding the ocid's one record."""

    uri: str
    version: str
    extensions: list[str]
    publishedDate: str
    publisher: Publisher
    records: list[dict[str, Any]]


def request_uri(call: Call, path: str, query: dict[str, str]) -> str:
    """The absolute URI of a package, from the host the client called."""
    host = call.headers.get("host", "localhost")
    scheme = call.headers.get("x-forwarded-proto", "https")
    return f"{scheme}://{host}{path}" + (f"?{urlencode(query)}" if query else "")
