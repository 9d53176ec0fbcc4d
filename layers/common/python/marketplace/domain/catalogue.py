"""The service-item catalogue (中介服务事项清单): items, their versions and what they require."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from marketplace.domain.model import Model, StrictModel

ITEM_CODE_PATTERN = r"^[A-Z0-9][A-Z0-9\-]{2,39}$"
INDUSTRY_PATTERN = r"^[a-z][a-z0-9_]{1,39}$"


class ServiceType(StrEnum):
    """The fixed list of intermediary service types (DOMAIN.md, "Why it exists")."""

    technical_review = "technical_review"  # 技术审查
    demonstration = "demonstration"  # 论证
    assessment = "assessment"  # 评估
    evaluation = "evaluation"  # 评价
    inspection = "inspection"  # 检验
    testing = "testing"  # 检测
    attestation = "attestation"  # 鉴证
    appraisal = "appraisal"  # 鉴定
    certification = "certification"  # 证明
    consultation = "consultation"  # 咨询
    trial = "trial"  # 试验


SERVICE_TYPE_NAMES_ZH = {
    ServiceType.technical_review: "技术审查",
    ServiceType.demonstration: "论证",
    ServiceType.assessment: "评估",
    ServiceType.evaluation: "评价",
    ServiceType.inspection: "检验",
    ServiceType.testing: "检测",
    ServiceType.attestation: "鉴证",
    ServiceType.appraisal: "鉴定",
    ServiceType.certification: "证明",
    ServiceType.consultation: "咨询",
    ServiceType.trial: "试验",
}


class ItemStatus(StrEnum):
    active = "active"
    retired = "retired"


class _Strict(StrictModel):
    pass


class CertificateRequirement(_Strict):
    """One certificate type, at a grade no lower than `min_grade` (1 is the highest: 甲级/一级)."""

    kind: Literal["certificate"] = "certificate"
    certificate_type: str = Field(min_length=1, max_length=100)
    min_grade: int | None = Field(default=None, ge=1, le=9)


class RequirementGroup(_Strict):
    """All of, or any of, the nested requirements."""

    kind: Literal["all_of", "any_of"]
    requirements: list[Requirement] = Field(min_length=1, max_length=20)


Requirement = Annotated[CertificateRequirement | RequirementGroup, Field(discriminator="kind")]


class Certificate(Model):
    """What an agency holds, as far as the requirement check needs it."""

    certificate_type: str
    grade: int | None = None


def requirement_met(requirement: Requirement, certificates: list[Certificate]) -> bool:
    if isinstance(requirement, CertificateRequirement):
        return any(_satisfies(c, requirement) for c in certificates)
    results = (requirement_met(r, certificates) for r in requirement.requirements)
    return all(results) if requirement.kind == "all_of" else any(results)


def _satisfies(certificate: Certificate, requirement: CertificateRequirement) -> bool:
    if certificate.certificate_type != requirement.certificate_type:
        return False
    if requirement.min_grade is None:
        return True
    return certificate.grade is not None and certificate.grade <= requirement.min_grade


def describe(requirement: Requirement | None) -> str:
    """A readable rendering, e.g. `all_of(工程咨询 ≥ grade 2, any_of(环评, 安评))`."""
    if requirement is None:
        return "no qualification required"
    if isinstance(requirement, CertificateRequirement):
        grade = f" ≥ grade {requirement.min_grade}" if requirement.min_grade else ""
        return f"{requirement.certificate_type}{grade}"
    return f"{requirement.kind}({', '.join(describe(r) for r in requirement.requirements)})"


class Pricing(_Strict):
    """Government-priced items carry the pricing document; market-priced ones may state a basis."""

    mode: Literal["government", "market"]
    fee_basis: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _government_price_needs_basis(self) -> Pricing:
        if self.mode == "government" and not self.fee_basis:
            raise ValueError("a government-priced item must state its fee basis (收费依据)")
        return self


class ItemDefinition(_Strict):
    """What the admin writes for an item; every write makes a new version of it."""

    name: str = Field(min_length=1, max_length=200)
    service_type: ServiceType
    legal_basis: list[str] = Field(min_length=1, max_length=20)
    power_items: list[str] = Field(min_length=1, max_length=50)
    department: str = Field(min_length=1, max_length=100)
    industry: str = Field(
        pattern=INDUSTRY_PATTERN,
        description="the regulating industry (行业), e.g. environment; its regulators review the agencies "
        "that offer the item",
    )
    qualification: Requirement | None = None
    consortium_qualification: Literal["joint", "every_member"] = Field(
        default="joint",
        description="how a consortium (联合体) meets `qualification`: `joint`, the lead's and members' "
        "certificates together; `every_member`, each of them alone (docs/consortium.md)",
    )
    pricing: Pricing
    effective_from: date
    description: str = Field(default="", max_length=2000)

    @field_validator("legal_basis", "power_items")
    @classmethod
    def _no_blank_entries(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip() for v in values]
        if any(not v for v in cleaned):
            raise ValueError("entries must not be blank")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("entries must not repeat")
        return cleaned


class ItemVersion(ItemDefinition):
    """One immutable version of a catalogue item."""

    model_config = ConfigDict(extra="forbid")

    code: str
    version: int = Field(ge=1)
    status: ItemStatus
    recorded_at: str
    recorded_by: str
    change_note: str = ""


def in_force(versions: list[ItemVersion], on: date) -> ItemVersion | None:
    """The version in force on a date: the newest whose effective date has come."""
    candidates = [v for v in versions if v.effective_from <= on]
    return max(candidates, key=lambda v: v.version) if candidates else None


def search_text(definition: ItemDefinition, code: str) -> str:
    """What a keyword search matches against: code, name, department, type and legal basis."""
    parts = [code, definition.name, definition.department, definition.service_type.value]
    parts.append(SERVICE_TYPE_NAMES_ZH[definition.service_type])
    parts.extend(definition.legal_basis)
    parts.extend(definition.power_items)
    return "\n".join(parts).lower()
