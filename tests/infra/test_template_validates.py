"""The template passes cfn-lint and transforms with aws-sam-translator, both offline."""

from __future__ import annotations

from typing import Any

from cfnlint.api import ManualArgs, lint_file
from samtranslator.translator.transform import transform

from infra.build import BuildResult
from tests.infra.conftest import without_local_paths


class NoManagedPolicies:
    """The managed-policy loader SAM calls for `Policies: [AWSManagedPolicyName]`; we use none."""

    def load(self) -> dict[str, str]:
        return {}


def test_cfn_lint_finds_nothing_in_china_or_in_a_region_with_user_pools(built: BuildResult) -> None:
    matches = lint_file(built.template_path, config=ManualArgs(regions=["cn-north-1", "us-east-1"]))
    assert [str(m) for m in matches] == []


def test_sam_transforms_it_offline(built: BuildResult, template: dict[str, Any]) -> None:
    packaged = without_local_paths(template, built.template_path.parent)
    output = transform(packaged, {}, NoManagedPolicies())
    kinds = [r["Type"] for r in output["Resources"].values()]
    assert "AWS::Serverless::Function" not in kinds
    assert kinds.count("AWS::Lambda::Function") == sum(
        1 for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"
    )
    stage = next(r for r in output["Resources"].values() if r["Type"] == "AWS::ApiGateway::Stage")
    assert stage["Properties"]["TracingEnabled"] is True
