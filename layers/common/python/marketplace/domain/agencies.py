"""Agencies (中介服务机构) and their admission (入驻): what an agency declares, whether its
certificates meet each offered item's requirements, who reviews it, and what the public sees."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import Field, field_validator, model_validator

from marketplace.domain.catalogue import ITEM_CODE_PATTERN, Certificate
from marketplace.domain.credit_code import CreditCode
from marketplace.domain.lifecycle import SYSTEM, Lifecycle
from marketplace.domain.masking import mask_name
from marketplace.domain.model import Model, StrictModel, revised
from marketplace.domain.owners import Contact
from marketplace.domain.regions import DIVISION_PATTERN

ID_NUMBER_PATTERN = r"^\d{17}[\dX]$"


# Approving a change puts the record in force in one DynamoDB transaction (at most 100 items): the
# submission, profile and version rows and its event (4); every offering row written or removed and
# an event per item restored (at most 40: a restored item is kept, so not removed); every
# certificate row changed or removed (at most 40). 84 at worst. The daily suspension writes at most
# the profile, 20 offering rows, 20 certificate rows and 20 events: 61.
MAX_OFFERINGS = 20
MAX_CERTIFICATES = 20


class EntityType(StrEnum):
    legal_person = "legal_person"  # 法人
    unincorporated = "unincorporated"  # 非法人组织
    individual_business = "individual_business"  # 个体工商户


class AgencyStatus(StrEnum):
    applying = "applying"  # first application under review
    returned = "returned"  # first application returned to amend
    admitted = "admitted"
    suspended = "suspended"
    expelled = "expelled"  # 清退


A = AgencyStatus
REVIEWERS = ("admin", "regulator")
SUPERVISORS = ("admin", "regulator")

# The agency's lifecycle (docs/lifecycles.md is generated from it). An agency starts `applying`
# with its first application. `admit` and `return` are the joint review's closing decision (the
# last approval, or one rejection); `change` opens a change or an extension, which the record in
# force outlives until approved; `suspend_items` is the daily certificate check suspending the
# items an expired certificate no longer supports.
AGENCY: Lifecycle[AgencyStatus] = Lifecycle(
    "agency",
    AgencyStatus,
    [
        (A.applying, "admit", REVIEWERS, A.admitted),
        (A.applying, "return", REVIEWERS, A.returned),
        (A.returned, "resubmit", ("agency",), A.applying),
        (A.admitted, "change", ("agency",), A.admitted),
        (A.suspended, "change", ("agency",), A.suspended),
        (A.admitted, "suspend_items", (SYSTEM,), A.admitted),
        (A.suspended, "suspend_items", (SYSTEM,), A.suspended),
        (A.admitted, "suspend", SUPERVISORS, A.suspended),
        *(
            (state, "expel", SUPERVISORS, A.expelled)
            for state in (A.admitted, A.suspended, A.applying, A.returned)
        ),
        # Serious dishonesty blacklists (黑名单): every item is expelled (清退) for the rules' period;
        # the lifting task restores them when it ends (or when an appeal revokes the finding).
        # An expelled agency's items are marked too: reinstated during the period, they stay closed.
        *((state, "blacklist", (SYSTEM,), state) for state in (A.admitted, A.suspended, A.expelled)),
        *((state, "lift_blacklist", (SYSTEM,), state) for state in (A.admitted, A.suspended, A.expelled)),
        (A.suspended, "reinstate", ("admin",), A.admitted),
        (A.expelled, "reinstate", ("admin",), A.admitted),
        (A.expelled, "reinstate_applicant", ("admin",), A.returned),  # expelled before admission
    ],
)


class LegalEntity(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    credit_code: CreditCode
    legal_representative: str = Field(min_length=1, max_length=50)
    address: str = Field(min_length=1, max_length=200)
    entity_type: EntityType
    region_code: str = Field(pattern=DIVISION_PATTERN, description="division code of the registered address")


class QualificationCertificate(StrictModel):
    """An electronic licence (电子证照) the agency holds."""

    certificate_type: str = Field(min_length=1, max_length=100)
    number: str = Field(min_length=1, max_length=64)
    grade: int | None = Field(default=None, ge=1, le=9, description="1 is the highest (甲级/一级)")
    issuer: str = Field(min_length=1, max_length=100)
    issued_on: date
    expires_on: date
    file_ref: str = Field(min_length=1, max_length=300, description="reference of the licence file")

    @model_validator(mode="after")
    def _dates_in_order(self) -> QualificationCertificate:
        if self.expires_on <= self.issued_on:
            raise ValueError("expires_on must be after issued_on")
        return self

    def valid_on(self, day: date) -> bool:
        return self.issued_on <= day <= self.expires_on


class PractitionerCertificate(StrictModel):
    certificate_type: str = Field(min_length=1, max_length=100)
    number: str = Field(min_length=1, max_length=64)
    expires_on: date | None = None


class Practitioner(StrictModel):
    """A practitioner (从业人员). ID number and phone are stored, never shown publicly."""

    name: str = Field(min_length=1, max_length=50)
    id_number: str = Field(pattern=ID_NUMBER_PATTERN)
    phone: str = Field(pattern=r"^\+?[0-9\- ]{7,20}$")
    certificates: list[PractitionerCertificate] = Field(default_factory=list, max_length=20)


class FeeCommitment(StrictModel):
    """A fixed fee in yuan, or a basis (rate, formula, government price) the agency commits to."""

    amount_yuan: Decimal | None = Field(default=None, gt=0, max_digits=14, decimal_places=2)
    basis: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _something_committed(self) -> FeeCommitment:
        if self.amount_yuan is None and not self.basis:
            raise ValueError("commit to a fee amount or a fee basis")
        return self


class Offering(StrictModel):
    """A catalogue item the agency offers, with its commitment (承诺)."""

    item_code: str = Field(pattern=ITEM_CODE_PATTERN)
    service_content: str = Field(min_length=1, max_length=1000)
    time_limit_working_days: int = Field(ge=1, le=365)
    fee: FeeCommitment


class Branch(StrictModel):
    """A branch (分支机构) with its own service regions."""

    name: str = Field(min_length=1, max_length=200)
    address: str = Field(min_length=1, max_length=200)
    regions: list[str] = Field(min_length=1, max_length=100)
    contacts: list[Contact] = Field(default_factory=list, max_length=5)

    @field_validator("regions")
    @classmethod
    def _divisions(cls, values: list[str]) -> list[str]:
        return _division_codes(values)


def _division_codes(values: list[str]) -> list[str]:
    bad = [v for v in values if len(v) != 6 or not v.isdigit()]
    if bad:
        raise ValueError(f"not administrative division codes (6 digits): {', '.join(bad[:5])}")
    if len(set(values)) != len(values):
        raise ValueError("regions must not repeat")
    return values


class AgencyProfile(StrictModel):
    """Everything an agency declares to be admitted; a change (变更) submits a new one."""

    legal_entity: LegalEntity
    contacts: list[Contact] = Field(min_length=1, max_length=10)
    practitioners: list[Practitioner] = Field(default_factory=list, max_length=200)
    certificates: list[QualificationCertificate] = Field(default_factory=list, max_length=MAX_CERTIFICATES)
    offerings: list[Offering] = Field(min_length=1, max_length=MAX_OFFERINGS)
    regions: list[str] = Field(min_length=1, max_length=200, description="service regions (division codes)")
    branches: list[Branch] = Field(default_factory=list, max_length=50)

    @field_validator("regions")
    @classmethod
    def _divisions(cls, values: list[str]) -> list[str]:
        return _division_codes(values)

    @model_validator(mode="after")
    def _unique(self) -> AgencyProfile:
        codes = [o.item_code for o in self.offerings]
        if len(set(codes)) != len(codes):
            raise ValueError("each catalogue item is offered once")
        numbers = [c.number for c in self.certificates]
        if len(set(numbers)) != len(numbers):
            raise ValueError("certificate numbers must not repeat")
        return self

    def all_regions(self) -> list[str]:
        seen = dict.fromkeys(self.regions)
        for branch in self.branches:
            seen.update(dict.fromkeys(branch.regions))
        return list(seen)


# Eligibility: which certificate meets which requirement, and what is missing.


class RequirementCheck(Model):
    """One leaf of an item's requirement: met by these certificates, or missing."""

    certificate_type: str
    min_grade: int | None
    met_by: list[str] = Field(description="numbers of the valid certificates that meet it")

    @property
    def met(self) -> bool:
        return bool(self.met_by)


class OfferingEligibility(Model):
    item_code: str
    item_version: int | None
    eligible: bool
    requirement: str = Field(description="the item's requirement, readable")
    checks: list[RequirementCheck]
    problems: list[str] = Field(description="why the item cannot be admitted; empty when eligible")


def check_requirements(
    requirement: object, certificates: list[QualificationCertificate], on: date
) -> tuple[bool, list[RequirementCheck]]:
    """Evaluate an item's requirement tree against the certificates valid on `on`."""
    from marketplace.domain.catalogue import CertificateRequirement, requirement_met

    if requirement is None:
        return True, []
    valid = [c for c in certificates if c.valid_on(on)]
    held = [Certificate(certificate_type=c.certificate_type, grade=c.grade) for c in valid]
    checks: list[RequirementCheck] = []

    def leaves(node: object) -> None:
        if isinstance(node, CertificateRequirement):
            met_by = [
                c.number
                for c in valid
                if c.certificate_type == node.certificate_type
                and (node.min_grade is None or (c.grade is not None and c.grade <= node.min_grade))
            ]
            checks.append(
                RequirementCheck(
                    certificate_type=node.certificate_type, min_grade=node.min_grade, met_by=met_by
                )
            )
        else:
            for child in getattr(node, "requirements", []):
                leaves(child)

    leaves(requirement)
    return requirement_met(requirement, held), checks  # type: ignore[arg-type]


# Joint review (联合审查): the admin and the regulators of every industry the offered items belong to.

ADMIN_SLOT = "admin"


def industry_slot(industry: str) -> str:
    return f"industry:{industry}"


def required_slots(industries: set[str]) -> list[str]:
    return [ADMIN_SLOT, *sorted(industry_slot(i) for i in industries)]


def slots_of_reviewer(role: str, industries: tuple[str, ...], required: list[str]) -> list[str]:
    """The review slots a reviewer fills: the admin's, or a regulator's industries among those
    the submission needs."""
    if role == "admin":
        return [ADMIN_SLOT] if ADMIN_SLOT in required else []
    if role == "regulator":
        mine = {industry_slot(i) for i in industries}
        return [s for s in required if s in mine]
    return []


class ReviewDecision(StrEnum):
    approve = "approve"
    reject = "reject"


# What the public sees: never a practitioner's ID number or phone.


def mask_id_number(value: str) -> str:
    return value[:3] + "*" * (len(value) - 7) + value[-4:] if len(value) > 7 else "*" * len(value)


def mask_number(value: str) -> str:
    """A personal certificate number: only its last four characters."""
    return "*" * max(len(value) - 4, 0) + value[-4:] if len(value) > 4 else "*" * len(value)


def mask_phone(value: str) -> str:
    """At least four digits hidden, as for a mobile (138****5678): a landline keeps only its last
    four (****0000); anything shorter than eight characters is hidden whole."""
    digits = value.replace(" ", "")
    if len(digits) >= 11:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    if len(digits) >= 8:
        return "*" * (len(digits) - 4) + digits[-4:]
    return "*" * len(digits)


# What is recorded.


class SubmissionKind(StrEnum):
    admission = "admission"  # 入驻
    change = "change"  # 变更
    extension = "extension"  # 延期


class SubmissionStatus(StrEnum):
    under_review = "under_review"
    approved = "approved"
    returned = "returned"


class Decision(Model):
    """One reviewer's decision for one review slot."""

    slot: str
    decision: ReviewDecision
    reasons: str
    reviewer: str
    reviewer_org: str
    reviewer_role: str
    decided_at: str


class Submission(Model):
    """An application, change or extension and its joint review."""

    agency_id: str
    number: int
    kind: SubmissionKind
    profile: AgencyProfile
    note: str = ""
    submitted_at: str
    submitted_by: str
    due_at: str = Field(description="review deadline (UTC): the configured working days after submission")
    due_counts_weekends_only: bool = False
    required_slots: list[str]
    eligibility: list[OfferingEligibility]
    status: SubmissionStatus = SubmissionStatus.under_review
    decisions: list[Decision] = Field(default_factory=list)
    closed_at: str | None = None


U = SubmissionStatus

# A submission's lifecycle: each reviewer's decision is a `review`; the deciding one closes it
# (`approve` with the last approval, `return` with a rejection); an expulsion returns it.
SUBMISSION: Lifecycle[SubmissionStatus] = Lifecycle(
    "submission",
    SubmissionStatus,
    [
        (U.under_review, "review", REVIEWERS, U.under_review),
        (U.under_review, "approve", REVIEWERS, U.approved),
        (U.under_review, "return", REVIEWERS, U.returned),
        (U.under_review, "close_on_expulsion", SUPERVISORS, U.returned),
    ],
)


class PublicStatusChange(Model):
    """A status change as the public sees it: what, when, why; not which user."""

    at: str
    status: AgencyStatus
    by_role: str
    reason: str = ""
    basis: str = ""


class StatusChange(PublicStatusChange):
    by: str = Field(description="the user (token subject) who made it")


class Agency(Model):
    """An agency as stored: its status, its admitted record (once admitted) and its history."""

    agency_id: str
    name: str
    credit_code: str
    status: AgencyStatus
    record: AgencyProfile | None = None
    record_version: int = 0
    suspended_items: dict[str, str] = Field(
        default_factory=dict, description="item code -> why it is suspended (e.g. an expired certificate)"
    )
    history: list[StatusChange] = Field(default_factory=list)
    administrators: list[str] = Field(
        default_factory=list,
        description="token subjects of the organisation's administrators (the applicant)",
    )
    created_at: str
    updated_at: str
    submissions: int = Field(
        default=0, exclude=True, description="how many submissions it made (from the row)"
    )
    open_submission: int | None = Field(default=None, exclude=True, description="the one under review (row)")
    revision: int = Field(default=0, exclude=True, description="the profile row's revision when read")

    def status_reason(self) -> str:
        """Why a suspended or expelled agency is so: the reason of the change that made it."""
        if self.status not in (AgencyStatus.suspended, AgencyStatus.expelled) or not self.history:
            return ""
        return self.history[-1].reason

    def can_serve(self) -> bool:
        return self.status == AgencyStatus.admitted


# Public views.


class PublicPractitioner(Model):
    name: str = Field(description="masked: the first character only (钱*)")
    certificates: list[PractitionerCertificate] = Field(description="certificate numbers masked")


class PublicContact(Model):
    name: str = Field(description="masked: the first character only (钱*)")
    phone: str = Field(description="masked")
    role: str = ""


class PublicBranch(Model):
    name: str
    address: str
    regions: list[str]
    contacts: list[PublicContact]


class PublicLegalEntity(Model):
    """The legal entity as registered, but the address of an individual business (个体工商户),
    which is its keeper's home: only its division is shown (`region_code`)."""

    name: str
    credit_code: str
    legal_representative: str
    address: str | None = Field(description="null for an individual business (a person's home)")
    entity_type: EntityType
    region_code: str


class PublicRecord(Model):
    legal_entity: PublicLegalEntity
    contacts: list[PublicContact]
    practitioners: list[PublicPractitioner]
    certificates: list[QualificationCertificate]
    offerings: list[Offering]
    regions: list[str]
    branches: list[PublicBranch]


class AgencyPublic(Model):
    """An agency as anyone sees it: record, certificates, status history; no personal data."""

    agency_id: str
    name: str
    status: AgencyStatus
    record: PublicRecord | None
    record_version: int
    suspended_items: dict[str, str]
    history: list[PublicStatusChange]


def _public_contact(contact: Contact) -> PublicContact:
    return PublicContact(name=mask_name(contact.name), phone=mask_phone(contact.phone), role=contact.role)


def _public_entity(entity: LegalEntity) -> PublicLegalEntity:
    home = entity.entity_type == EntityType.individual_business
    return PublicLegalEntity.model_validate(entity.model_dump() | ({"address": None} if home else {}))


def public_record(r: AgencyProfile) -> PublicRecord:
    return PublicRecord(
        legal_entity=_public_entity(r.legal_entity),
        contacts=[_public_contact(c) for c in r.contacts],
        practitioners=[
            PublicPractitioner(
                name=mask_name(p.name),
                certificates=[revised(c, number=mask_number(c.number)) for c in p.certificates],
            )
            for p in r.practitioners
        ],
        certificates=r.certificates,
        offerings=r.offerings,
        regions=r.regions,
        branches=[
            PublicBranch(
                name=b.name,
                address=b.address,
                regions=b.regions,
                contacts=[_public_contact(c) for c in b.contacts],
            )
            for b in r.branches
        ],
    )


def public_view(agency: Agency) -> AgencyPublic:
    return AgencyPublic(
        agency_id=agency.agency_id,
        name=agency.name,
        status=agency.status,
        record=public_record(agency.record) if agency.record is not None else None,
        record_version=agency.record_version,
        suspended_items=agency.suspended_items,
        history=[PublicStatusChange.model_validate(h.model_dump(exclude={"by"})) for h in agency.history],
    )


class RecordVersion(Model):
    """An admitted version of an agency's record and the submission that put it in force."""

    version: int
    submission: int
    record: AgencyProfile


class AgencySummary(Model):
    """A directory entry; with an item filter, the agency's offering of that item."""

    agency_id: str
    name: str
    status: AgencyStatus
    regions: list[str]
    items: list[str] = Field(default_factory=list)
    offering: Offering | None = None
    item_suspended: bool | None = None
    status_reason: str = Field(default="", description="why it is suspended or expelled")
    credit_level: str | None = Field(
        default=None, description="its credit level (A-D); the profile: GET /agencies/{agency_id}/credit"
    )
    blacklisted_until: str | None = Field(default=None, description="blacklisted (黑名单) until then")


# The organisation's users.


class NewMember(StrictModel):
    email: str = Field(
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=120, description="the staff user signs in with it"
    )
    name: str = Field(min_length=1, max_length=50)


class Member(Model):
    """A user acting for an agency: its tokens carry the agency's organisation id."""

    username: str = Field(description="the sign-in name: the email")
    name: str
    email: str
    subject: str = Field(default="", description="the user's token subject, once the directory knows it")
    role: str = Field(default="staff", description="staff (added by an administrator)")
    added_at: str
    added_by: str
