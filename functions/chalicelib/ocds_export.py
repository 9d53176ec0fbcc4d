"""The daily OCDS bulk export (docs/ocds.md): its own function and role, writing the previous
local day's releases to the public open-data bucket."""

from __future__ import annotations

import logging
from typing import Any

from chalice import Blueprint, Rate

from chalicelib import startup
from marketplace.observability import log
from marketplace.services import ocds

bp = Blueprint(__name__)
logger = logging.getLogger("marketplace.ocds_export")


@bp.schedule(Rate(1, unit=Rate.DAYS), name="export_ocds")
def export_ocds(event: Any) -> dict[str, Any]:
    """Daily: the previous local day's releases as JSON lines at ocds/releases/YYYY/MM/DD.jsonl;
    a rerun rewrites the same object with the same bytes."""
    report = ocds.export_day()
    log(logger, logging.INFO, "OCDS releases exported", **report)
    return report


# A task function's entry module: its import is done (chalicelib/startup.py).
startup.resume_collection()
