"""`GET /ocds/records/{ocid}` (docs/ocds.md): its own area, the one route loading ocdsmerge."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from marketplace.domain.ocds import MalformedOcid, RecordPackage
from marketplace.errors import BadRequest, FieldError
from marketplace.web.http import Call, route

bp = Blueprint(__name__)


@route(
    bp,
    "/ocds/records/{ocid}",
    name="get_ocds_record",
    summary="A purchase's OCDS record: every release and the compiled release (ocdsmerge)",
    response=RecordPackage,
)
def get_record(call: Call) -> dict[str, Any]:
    from marketplace.services import ocds, ocds_records

    ocid = call.params["ocid"]
    try:
        return ocds_records.record(ocid, uri=ocds.package_uri(call.headers, f"/ocds/records/{ocid}", {}))
    except MalformedOcid as exc:
        raise BadRequest(str(exc), errors=[FieldError("ocid", str(exc))]) from exc
