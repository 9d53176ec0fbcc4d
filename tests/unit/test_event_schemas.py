"""Every domain event type has a schema and a sample, and the sample matches the schema."""

from __future__ import annotations

import json

import pytest
from jsonschema import ValidationError

from marketplace.events import EVENT_TYPES, event
from tests.support.schemas import EVENTS_DIR, check_event

SAMPLES = sorted((EVENTS_DIR / "domain").glob("*.json"))


def test_every_event_type_has_a_schema_and_a_sample() -> None:
    schemas = {p.stem for p in (EVENTS_DIR / "schemas").glob("*.json")}
    samples = {p.stem for p in SAMPLES}
    assert schemas == set(EVENT_TYPES)
    assert samples == set(EVENT_TYPES)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_each_sample_matches_its_schema(path) -> None:
    sample = json.loads(path.read_text())
    assert sample["detail-type"] == path.stem
    check_event(sample)


def test_a_sample_missing_its_data_fails_its_schema() -> None:
    sample = json.loads((EVENTS_DIR / "domain" / "OwnerRegistered.json").read_text())
    del sample["detail"]["data"]["owner_type"]
    with pytest.raises(ValidationError):
        check_event(sample)


def test_the_envelope_the_code_builds_matches_the_schema() -> None:
    built = event(
        "OwnerRegistered",
        subject="OW-1",
        data={"owner_id": "OW-1", "name": "单位", "owner_type": "company"},
        actor="user-1",
    )
    check_event({"detail-type": built.detail_type, "detail": built.detail()})


def test_an_unknown_event_type_cannot_be_built() -> None:
    with pytest.raises(ValueError):
        event("SomethingHappened", subject="x", data={}, actor="y")
