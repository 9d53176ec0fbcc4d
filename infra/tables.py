"""DynamoDB tables, generated from the PynamoDB models (infra.definitions.table_specs)."""

from __future__ import annotations

from infra import names
from infra.cfn import Json, get_att, sub
from infra.definitions import TableSpec

RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
TABLE_PREFIX = "${AWS::StackName}-"  # the functions' TABLE_PREFIX: the same string


def table(spec: TableSpec) -> Json:
    properties: Json = {
        "TableName": sub(TABLE_PREFIX + spec.logical_suffix),
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": spec.key_schema,
        "AttributeDefinitions": spec.attribute_definitions,
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "DeletionProtectionEnabled": True,
        "SSESpecification": {
            "SSEEnabled": True,
            "SSEType": "KMS",
            "KMSMasterKeyId": get_att(names.DATA_KEY, "Arn"),
        },
    }
    if spec.global_secondary_indexes:
        properties["GlobalSecondaryIndexes"] = spec.global_secondary_indexes
    if spec.ttl_attribute:
        properties["TimeToLiveSpecification"] = {"AttributeName": spec.ttl_attribute, "Enabled": True}
    return {"Type": "AWS::DynamoDB::Table", **RETAIN, "Properties": properties}


def tables(specs: list[TableSpec]) -> dict[str, Json]:
    return {spec.logical_id: table(spec) for spec in specs}
