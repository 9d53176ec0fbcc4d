"""A district gives its own OCDS ocid prefix at deploy time (the OcidPrefix parameter); every
function gets it as OCID_PREFIX, which marketplace.settings reads and checks."""

from __future__ import annotations

import re
from typing import Any

import pytest

from infra import names
from infra.template_parts import OCID_PREFIX_PATTERN
from marketplace.settings import Settings, reset_settings
from tests.infra.conftest import of_type


def test_the_parameter_defaults_to_the_settings_default(template: dict[str, Any]) -> None:
    parameter = template["Parameters"][names.OCID_PREFIX]
    assert parameter["Default"] == Settings.ocid_prefix
    assert parameter["AllowedPattern"] == OCID_PREFIX_PATTERN


def test_every_function_gets_the_parameter(resources: dict[str, Any]) -> None:
    functions = of_type(resources, "AWS::Serverless::Function")
    assert len(functions) > 50
    for logical_id, function in functions.items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["OCID_PREFIX"] == {"Ref": names.OCID_PREFIX}, logical_id


@pytest.mark.parametrize("value", ["ocds-213czf", "ocds-a1b2c3", "ocds-ABCDEF", "ocds-12345", "x-213czf", ""])
def test_cloudformation_accepts_what_the_settings_accept(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """The parameter's pattern and the settings' check agree: no deploy that the functions refuse."""
    monkeypatch.setenv("OCID_PREFIX", value)
    reset_settings()
    try:
        accepted = Settings.from_env().ocid_prefix == value
    except RuntimeError:
        accepted = False
    finally:
        reset_settings()
    if value:  # "" is refused by CloudFormation; the settings fall back to the default instead
        assert bool(re.fullmatch(OCID_PREFIX_PATTERN.strip("^$"), value)) == accepted, value
    else:
        assert not re.search(OCID_PREFIX_PATTERN, value)
