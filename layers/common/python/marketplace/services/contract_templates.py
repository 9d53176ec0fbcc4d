"""Contract templates (合同范本) per catalogue item: kept by the item's regulator (a regulator whose
industries include the item's) or the admin, versioned like items (each change a new version with
its effective date; the history stays readable)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from marketplace.auth import Principal
from marketplace.clock import iso, local_today, utcnow
from marketplace.domain.catalogue import ItemStatus, ItemVersion
from marketplace.domain.contracts import (
    PLACEHOLDERS,
    ContractTemplate,
    TemplateDefinition,
    TemplateVersion,
    placeholders_in,
    template_in_force,
    unknown_placeholders,
)
from marketplace.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed, invalid
from marketplace.events import event
from marketplace.repositories import catalogue as catalogue_repo
from marketplace.repositories import contracts as repo
from marketplace.repositories import event_bus


@dataclass(frozen=True)
class TemplateDetail:
    template: ContractTemplate
    in_force: int | None
    history: list[TemplateVersion]


def may_keep(item: ItemVersion, by: Principal) -> bool:
    """The admin, or a regulator of the item's industry."""
    return by.is_admin() or (by.role == "regulator" and item.industry in by.industries)


def put_template(item_code: str, definition: TemplateDefinition, by: Principal) -> ContractTemplate:
    item = catalogue_repo.latest(item_code)
    if not may_keep(item, by):
        raise Forbidden(
            f"the contract template of {item_code} is kept by the admin and the regulators of "
            f"industry {item.industry}"
        )
    if item.status == ItemStatus.retired:
        raise Conflict(f"catalogue item {item_code} is retired; it takes no new contract template")
    unknown = unknown_placeholders(definition.body)
    if unknown:
        message = f"unknown placeholders: {', '.join(unknown)} (known: {', '.join(PLACEHOLDERS)})"
        raise ValidationFailed(f"body: {message}", errors=[FieldError("body", message)], unknown=unknown)
    versions = repo.template_versions(item_code)
    latest = versions[-1] if versions else None
    current = latest.version if latest else 0
    if definition.expected_version is not None and definition.expected_version != current:
        raise Conflict(
            f"the contract template of {item_code} is at version {current}, not "
            f"{definition.expected_version}; read it again and resubmit"
        )
    if latest is not None and definition.effective_from < latest.effective_from:
        # The version in force is the newest whose date has come: an earlier date would rewrite
        # which template was in force when contracts were generated from it.
        raise invalid("effective_from", "a new version cannot take effect before the version it replaces")
    template = ContractTemplate(
        item_code=item_code,
        version=current + 1,
        body=definition.body,
        placeholders=placeholders_in(definition.body),
        effective_from=definition.effective_from,
        recorded_at=iso(utcnow()),
        recorded_by=by.subject,
        change_note=definition.change_note,
    )
    data = {
        "item_code": item_code,
        "version": template.version,
        "effective_from": template.effective_from.isoformat(),
        "industry": item.industry,
    }
    events = [event("ContractTemplatePublished", subject=item_code, data=data, actor=by.subject)]
    repo.add_template(template, events)
    event_bus.flush(events)
    return template


def get_template(item_code: str, *, version: int | None = None, on: date | None = None) -> TemplateDetail:
    """The newest version (or `version`), which version is in force today, and the history."""
    versions = repo.template_versions(item_code)
    if not versions:
        raise NotFound(f"catalogue item {item_code} has no contract template")
    selected = versions[-1]
    if version is not None:
        found = next((v for v in versions if v.version == version), None)
        if found is None:
            raise NotFound(f"the contract template of {item_code} has no version {version}")
        selected = found
    in_force = template_in_force(versions, on or local_today())
    history = [
        TemplateVersion(
            version=v.version,
            effective_from=v.effective_from,
            recorded_at=v.recorded_at,
            change_note=v.change_note,
        )
        for v in versions
    ]
    return TemplateDetail(template=selected, in_force=in_force.version if in_force else None, history=history)


def in_force(item_code: str, on: date) -> ContractTemplate | None:
    return template_in_force(repo.template_versions(item_code), on)
