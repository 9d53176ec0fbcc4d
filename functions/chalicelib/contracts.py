"""Routes of the contract (合同, DOMAIN.md §7) and of the items' contract templates (合同范本)."""

from __future__ import annotations

from typing import Literal

from chalice import Blueprint
from pydantic import Field, model_validator

from marketplace.domain.contracts import (
    SHA256_PATTERN,
    ContractRequest,
    ContractTemplate,
    ContractView,
    TemplateDefinition,
    TemplateVersion,
)
from marketplace.domain.model import Model, StrictModel
from marketplace.services import contract_templates as templates
from marketplace.services import contracts as service
from marketplace.web.http import Call, route

bp = Blueprint(__name__)


class TemplateQuery(StrictModel):
    version: int | None = Field(default=None, ge=1, description="a version from the history")


class TemplateOut(Model):
    template: ContractTemplate = Field(description="the newest version, or the one asked for with ?version=")
    in_force: int | None = Field(
        description="the version in force today (the one a contract generated today uses)"
    )
    history: list[TemplateVersion]


class SignatureRequest(StrictModel):
    decision: Literal["accept", "refuse"]
    reasons: str | None = Field(default=None, min_length=1, max_length=2000, description="required to refuse")
    sha256: str | None = Field(
        default=None,
        pattern=SHA256_PATTERN,
        description="optional: the hash of the contract the agency read; if the owner replaced it "
        "meanwhile, 409",
    )

    @model_validator(mode="after")
    def _reasons_to_refuse(self) -> SignatureRequest:
        if self.decision == "refuse" and not self.reasons:
            raise ValueError("reasons are required to refuse a contract")
        if self.decision == "accept" and self.reasons:
            raise ValueError("reasons are given only with a refusal")
        return self


@route(
    bp,
    "/catalogue/items/{code}/contract-template",
    name="get_contract_template",
    summary="An item's contract template (合同范本): the newest version (or ?version=), the one in "
    "force, the history",
    query=TemplateQuery,
    response=TemplateOut,
)
def get_template(call: Call) -> TemplateOut:
    q: TemplateQuery = call.query
    detail = templates.get_template(call.params["code"], version=q.version)
    return TemplateOut(template=detail.template, in_force=detail.in_force, history=detail.history)


@route(
    bp,
    "/catalogue/items/{code}/contract-template",
    "PUT",
    name="put_contract_template",
    summary="A new version of an item's contract template (the item's regulator or the admin)",
    roles=("admin", "regulator"),
    body=TemplateDefinition,
    response=ContractTemplate,
    description="The body is HTML with named placeholders such as `{{purchase.project_name}}`, "
    "`{{agency.name}}`, `{{amount_yuan}}` and `{{time_limit_days}}` (docs/contracts.md lists them); an "
    "unknown placeholder is refused (422, `unknown[]`). Each PUT is a new version; two at once: one "
    "wins, the other is a 409. A regulator keeps the templates of its industries' items.",
)
def put_template(call: Call) -> ContractTemplate:
    return templates.put_template(call.params["code"], call.body, call.caller)


@route(
    bp,
    "/purchases/{purchase_id}/contract",
    "POST",
    name="register_contract",
    summary="The owner registers the contract: generated from the item's template or uploaded "
    "(a file reference and its sha256)",
    roles=("owner",),
    body=ContractRequest,
    response=ContractView,
    status=201,
    idempotent=True,
    description="Within RULE_CONTRACT_DAYS calendar days of confirmation (later: 409, `reason: late`, "
    "with the `deadline`). A contract awaiting the agency's signature is replaced by a new registration; "
    "after a refusal the owner registers a new one.",
)
def register(call: Call) -> ContractView:
    return service.register(call.params["purchase_id"], call.body, call.caller)


@route(
    bp,
    "/purchases/{purchase_id}/contract/signature",
    "POST",
    name="sign_contract",
    summary="The selected agency countersigns the contract (the purchase is contracted) or refuses "
    "it with reasons",
    roles=("agency",),
    body=SignatureRequest,
    response=ContractView,
    description="A refusal records a `contract_refused` credit event for the agency; the owner may "
    "register a new contract. Two signatures at once: one wins, the other is a 409.",
)
def sign(call: Call) -> ContractView:
    body: SignatureRequest = call.body
    return service.sign(
        call.params["purchase_id"], body.decision, call.caller, reasons=body.reasons, sha256=body.sha256
    )


@route(
    bp,
    "/purchases/{purchase_id}/contract",
    name="get_contract",
    summary="A purchase's contract: whole for its parties, the admin and the item's regulator; "
    "state, date, amount and hash for anyone else",
    optional_auth=True,
    response=ContractView,
)
def get(call: Call) -> ContractView:
    return service.view(call.params["purchase_id"], call.principal)
