"""The project-owner registry (项目业主库)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import ConfigDict, Field, field_validator

from marketplace.domain.credit_code import CreditCode
from marketplace.domain.model import Model, StrictModel


class OwnerType(StrEnum):
    government_unit = "government_unit"
    company = "company"
    person = "person"


class FundingType(StrEnum):
    fiscal = "fiscal"
    private = "private"


class Contact(StrictModel):
    name: str = Field(min_length=1, max_length=50)
    phone: str = Field(pattern=r"^\+?[0-9\- ]{7,20}$")
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=120)
    role: str = Field(default="", max_length=50)


class OwnerProfile(Model):
    """What an owner declares about its unit."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    credit_code: CreditCode
    owner_type: OwnerType
    funding_types: list[FundingType] = Field(min_length=1)
    contacts: list[Contact] = Field(min_length=1, max_length=10)
    address: str = Field(default="", max_length=200)
    region_code: str = Field(default="", pattern=r"^(\d{6})?$", description="administrative division code")

    @field_validator("funding_types")
    @classmethod
    def _unique(cls, values: list[FundingType]) -> list[FundingType]:
        if len(set(values)) != len(values):
            raise ValueError("funding types must not repeat")
        return values


class Owner(OwnerProfile):
    owner_id: str
    registered_at: str
    registered_by: str
    updated_at: str
    version: int = 1


class OwnerPublic(Model):
    """What anyone may see of an owner."""

    owner_id: str
    name: str
    owner_type: OwnerType
