"""`GET /ocds/records/{ocid}` (docs/ocds.md): its own area, the one route that loads ocdsmerge
(the open-data layer, infra/definitions.py OPEN_DATA_FUNCTIONS)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.http import Call, route
from chalicelib.ocds_packages import RecordPackage, request_uri
from marketplace.domain.ocds import MalformedOcid
from marketplace.errors import FieldError, ValidationFailed

bp = Blueprint(__name__)


@route(
    bp,
    "/ocds/records/{ocid}",
    name="get_ocds_record",
    summary="A purchase's OCDS record: every release and the compiled release",
    response=RecordPackage,
    description="A record package: the ocid's releases, oldest first, and `compiledRelease`, "
    "merged with ocdsmerge. The ocid is `{prefix}-{purchase id}` (docs/ocds.md).",
)
def get_record(call: Call) -> dict[str, Any]:
    from marketplace.services import ocds_records

    ocid = call.params["ocid"]
    try:
        return ocds_records.record(ocid, uri=request_uri(call, f"/ocds/records/{ocid}", {}))
    except MalformedOcid as exc:
        raise ValidationFailed(str(exc), errors=[FieldError("ocid", str(exc))]) from exc
