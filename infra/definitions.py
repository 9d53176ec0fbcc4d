"""The resources the system needs, defined once. `infra/build.py` turns them into the SAM
template; `infra/local` creates the same resources on the embedded emulator."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marketplace.domain.notifications import NOTIFIED_TYPES
from marketplace.domain.ocds import RELEASE_EVENT_TYPES
from marketplace.domain.red_flags import WATCHED as RED_FLAG_EVENTS
from marketplace.domain.statistics import FOLDED_TYPES as STATISTICS_TYPES
from marketplace.repositories.tables import ALL_MODELS, TTL_ATTRIBUTES

ROOT = Path(__file__).resolve().parent.parent
STATEMACHINES_DIR = ROOT / "statemachines"


@dataclass(frozen=True)
class TableSpec:
    """A table in the shape CloudFormation and the DynamoDB API share."""

    logical_suffix: str  # e.g. "catalogue": the name after the stage prefix
    key_schema: list[dict[str, str]]
    attribute_definitions: list[dict[str, str]]
    global_secondary_indexes: list[dict[str, Any]] = field(default_factory=list)
    ttl_attribute: str | None = None

    @property
    def logical_id(self) -> str:
        return "".join(p.capitalize() for p in self.logical_suffix.split("-")) + "Table"

    def create_table_kwargs(self, table_name: str) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "TableName": table_name,
            "KeySchema": self.key_schema,
            "AttributeDefinitions": self.attribute_definitions,
            "BillingMode": "PAY_PER_REQUEST",
        }
        if self.global_secondary_indexes:
            kwargs["GlobalSecondaryIndexes"] = self.global_secondary_indexes
        return kwargs


def _key_schema(raw: list[dict[str, str]]) -> list[dict[str, str]]:
    # DynamoDB wants HASH before RANGE; PynamoDB does not promise an order.
    return sorted(
        ({"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in raw),
        key=lambda k: 0 if k["KeyType"] == "HASH" else 1,
    )


def _projection(raw: dict[str, Any]) -> dict[str, Any]:
    projection: dict[str, Any] = {"ProjectionType": raw["ProjectionType"]}
    if raw.get("NonKeyAttributes"):
        projection["NonKeyAttributes"] = sorted(raw["NonKeyAttributes"])
    return projection


def table_specs() -> list[TableSpec]:
    specs = []
    for model in ALL_MODELS:
        schema = model._get_schema()
        suffix = model.Meta.suffix
        gsis = [
            {
                "IndexName": g["index_name"],
                "KeySchema": _key_schema(g["key_schema"]),
                "Projection": _projection(g["projection"]),
            }
            for g in sorted(schema["global_secondary_indexes"], key=lambda g: g["index_name"])
        ]
        attributes = sorted(
            (
                {"AttributeName": a["AttributeName"], "AttributeType": a["AttributeType"]}
                for a in schema["attribute_definitions"]
            ),
            key=lambda a: a["AttributeName"],
        )
        specs.append(
            TableSpec(
                logical_suffix=suffix,
                key_schema=_key_schema(schema["key_schema"]),
                attribute_definitions=attributes,
                global_secondary_indexes=gsis,
                ttl_attribute=TTL_ATTRIBUTES.get(suffix),
            )
        )
    return specs


@dataclass(frozen=True)
class EventRule:
    """An EventBridge rule on the domain bus and where it sends matching events."""

    name: str
    detail_types: tuple[str, ...]
    target_queue: str  # a QueueSpec name


@dataclass(frozen=True)
class QueueSpec:
    """An SQS queue with its dead-letter queue; `consumer` is the Chalice handler it feeds."""

    name: str
    consumer: str
    max_receive_count: int = 5
    visibility_timeout: int = 60


EVENT_RULES: list[EventRule] = [
    # Every event someone is told about (marketplace.domain.notifications) reaches the inboxes.
    EventRule(name="notifications", detail_types=NOTIFIED_TYPES, target_queue="notifications"),
    # ocds (issue 12): every event that changes a purchase's public state appends an OCDS release.
    EventRule(name="ocds", detail_types=RELEASE_EVENT_TYPES, target_queue="ocds"),
    # statistics (issue 12): the events the statistics fold (marketplace.domain.statistics).
    EventRule(name="statistics", detail_types=STATISTICS_TYPES, target_queue="statistics"),
    # Red flags (issue 12 red-flags): the events that can change a purchase's flags.
    EventRule(name="red-flags", detail_types=RED_FLAG_EVENTS, target_queue="red-flags"),
]
QUEUES: list[QueueSpec] = [
    # Six times the consumer's timeout, as AWS advises for Lambda event sources: a batch being
    # retried by Lambda is not handed out again meanwhile.
    QueueSpec(name="notifications", consumer="notify", visibility_timeout=360),
    # ocds (issue 12): the consumer appending OCDS releases (chalicelib/ocds.py).
    QueueSpec(name="ocds", consumer="append_ocds_releases", visibility_timeout=360),
    QueueSpec(name="statistics", consumer="fold_statistics", visibility_timeout=360),  # statistics (issue 12)
    # Red flags (issue 12 red-flags).
    QueueSpec(name="red-flags", consumer="compute_red_flags", visibility_timeout=360),
]
DOCUMENTS_BUCKET = "documents"
# Public by design: the OCDS bulk export (issue 12), for anyone to download.
OPEN_DATA_BUCKET = "opendata"
# The only key prefix anyone may read in it (infra/storage.py): the export writes under it alone.
OPEN_DATA_PUBLIC_PREFIX = "ocds/"
# The only functions that load the open-data layer (layers/opendata: ocdsmerge and what it imports).
OPEN_DATA_FUNCTIONS = ("get_ocds_record", "export_ocds")
SIGNING_KEY_ALIAS = "signing"
SEALING_KEY_ALIAS = "sealing"


def state_machine_files() -> list[Path]:
    return sorted(STATEMACHINES_DIR.glob("*.asl.json"))
