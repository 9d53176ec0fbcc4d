"""Validate OCDS packages offline (docs/ocds.md "How to validate"): the OCDS 1.1.5 package schemas
kept in tests/support/ocds/, the release schema the layer ships, and the fields of the bids
extension the releases use, with jsonschema (Draft 4, as OCDS 1.1 is written) and a local
`referencing` registry, so the package schemas' `$ref` to the release schema never leaves the
machine. Any test may use `validate_release_package`, `validate_record_package` or
`validate_release`."""

from __future__ import annotations

import copy
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

ROOT = Path(__file__).resolve().parent.parent.parent
SCHEMAS = Path(__file__).resolve().parent / "ocds"
RELEASE_SCHEMA = (
    ROOT / "layers" / "common" / "python" / "marketplace" / "data" / "ocds" / "release-schema.json"
)
RELEASE_SCHEMA_URL = "https://standard.open-contracting.org/schema/1__1__5/release-schema.json"

# The bids extension's fields the releases use (bids.details: id, date, status, tenderers,
# value), as its v1.1.5 documents them; declared in each package's `extensions`.
BIDS_DEFINITIONS: dict[str, Any] = {
    "Bids": {
        "type": "object",
        "properties": {"details": {"type": "array", "items": {"$ref": "#/definitions/Bid"}}},
    },
    "Bid": {
        "type": "object",
        "required": ["id"],
        "properties": {
            "id": {"type": "string"},
            "date": {"type": ["string", "null"], "format": "date-time"},
            "status": {
                "type": ["string", "null"],
                "enum": ["invited", "pending", "valid", "disqualified", "withdrawn", None],
            },
            "tenderers": {"type": "array", "items": {"$ref": "#/definitions/OrganizationReference"}},
            "value": {"$ref": "#/definitions/Value"},
        },
        "additionalProperties": False,
    },
}


@lru_cache(maxsize=1)
def release_schema() -> dict[str, Any]:
    """The release schema with the bids extension's fields patched in."""
    schema = copy.deepcopy(json.loads(RELEASE_SCHEMA.read_text(encoding="utf-8")))
    schema["properties"]["bids"] = {"$ref": "#/definitions/Bids"}
    schema["definitions"].update(BIDS_DEFINITIONS)
    return schema


@lru_cache(maxsize=1)
def _registry() -> Registry:
    resource = Resource.from_contents(release_schema(), default_specification=DRAFT4)
    return Registry().with_resource(RELEASE_SCHEMA_URL, resource)


@lru_cache(maxsize=4)
def _validator(name: str) -> jsonschema.Draft4Validator:
    schema = (
        release_schema() if name == "release" else json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    )
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(
        schema, registry=_registry(), format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )


def _check(name: str, document: Any) -> None:
    errors = sorted(_validator(name).iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in errors[:10]]
        raise AssertionError(f"not a valid OCDS 1.1.5 {name}:\n" + "\n".join(lines))


def validate_release(release: dict[str, Any]) -> None:
    _check("release", release)


def validate_release_package(package: dict[str, Any]) -> None:
    _check("release-package-schema.json", package)
    for release in package["releases"]:
        _release_rules(release)


def validate_record_package(package: dict[str, Any]) -> None:
    _check("record-package-schema.json", package)
    for record in package["records"]:
        _check("release", record["compiledRelease"])
        for release in record["releases"]:
            _release_rules(release)


def _release_rules(release: dict[str, Any]) -> None:
    """What the schema leaves to the publisher: ids unique, references to known parties."""
    parties = {p["id"] for p in release.get("parties", [])}
    references = [release.get("buyer", {})] + [
        s for a in release.get("awards", []) for s in a.get("suppliers", [])
    ]
    for ref in references:
        assert ref.get("id") in parties, f"{release['id']}: {ref} is not among the parties"
    ids = [p["id"] for p in release.get("parties", [])]
    assert len(ids) == len(set(ids)), f"{release['id']}: a party is listed twice"


# Personal data (DOMAIN.md): none of it may appear in open data.
RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
MOBILE = re.compile(r"(?<![0-9A-Za-z])(?:\+?86[- ]?)?1[3-9]\d{9}(?![0-9A-Za-z])")
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _is_resident_id(value: str) -> bool:
    """GB 11643-1999: a real birth date and the right check character (a credit code of 18
    digits rarely passes both)."""
    from datetime import date

    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    check = "10X98765432"[sum(int(c) * w for c, w in zip(value[:17], _ID_WEIGHTS, strict=True)) % 11]
    return 1900 <= born.year <= 2100 and check == value[17].upper()


def personal_data_in(document: Any, planted: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """Values that look like an ID number, a mobile number or an e-mail address, and any of the
    `planted` values (names, addresses the fixtures put in), wherever they occur."""
    text = json.dumps(document, ensure_ascii=False)
    ids = [v for v in RESIDENT_ID.findall(text) if _is_resident_id(v)]
    found = ids + MOBILE.findall(text) + EMAIL.findall(text)
    return found + sorted(v for v in planted if v and v in text)
