"""Routes of price bidding (竞价选取, docs/bidding.md): sealed quotes, the rounds, the disclosure."""

from __future__ import annotations

from chalice import Blueprint

from marketplace.domain.quotes import QuoteReceipt, QuoteRequest
from marketplace.errors import invalid
from marketplace.services import bidding as service
from marketplace.services.idempotency import MAX_KEY_LENGTH
from marketplace.web.http import Call, route

bp = Blueprint(__name__)


def _idempotency_key(call: Call) -> str | None:
    key = call.headers.get("idempotency-key")
    if key is not None and (not key or len(key) > MAX_KEY_LENGTH or not key.isprintable()):
        raise invalid("Idempotency-Key", f"must be 1-{MAX_KEY_LENGTH} printable characters")
    return key


@route(
    bp,
    "/purchases/{purchase_id}/quotes",
    "POST",
    name="submit_quote",
    summary="Submit (or replace) the caller agency's sealed quote in the round open now",
    roles=("agency",),
    body=QuoteRequest,
    response=QuoteReceipt,
    status=201,
    description="The quote is encrypted under the sealing key before it is stored; the reply is a receipt "
    "(the SHA-256 of what was sealed), never the figure. 201 for a new quote of the round, 200 for one that "
    "replaces the agency's earlier quote of the same round. Refused with 422 (`reason: above_ceiling`, "
    "`abnormally_low` with the floor named, `not_lower` with the agency's own price in a later round, or "
    "the wrong form), 403 when the agency is not enrolled (`not_enrolled`) or not a candidate of a later "
    "round (`not_candidate`), 409 when the round has closed (`late`). Idempotency-Key: a retry with the key "
    "of the round's stored quote returns its receipt and writes nothing (a sealed quote cannot be compared "
    "with the retried body, so the first quote stands).",
)
def submit(call: Call) -> tuple[int, QuoteReceipt]:
    return service.submit(call.params["purchase_id"], call.body, call.caller, _idempotency_key(call))


@route(
    bp,
    "/purchases/{purchase_id}/quotes",
    name="list_quotes",
    summary="After the last round, every quote of every round; before, the caller agency's own",
    optional_auth=True,
    response=service.Disclosure,
    description="Before the last round closed, only an agency may ask, and it sees its own receipts and "
    "its own quotes of closed rounds (403 for anyone else).",
)
def quotes(call: Call) -> service.Disclosure:
    return service.disclosure(call.params["purchase_id"], call.principal)


@route(
    bp,
    "/purchases/{purchase_id}/rounds",
    name="list_rounds",
    summary="The bidding rounds: times, state and, once closed, the count and the best price so far",
    response=service.RoundsView,
    description="The best price is shown without its owner until the last round closes.",
)
def rounds(call: Call) -> service.RoundsView:
    return service.rounds(call.params["purchase_id"])
