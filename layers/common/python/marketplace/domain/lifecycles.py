"""docs/lifecycles.md, written from the lifecycle tables: `python -m marketplace.domain.lifecycles`
prints it (tests/unit/test_lifecycles.py holds the file to the tables). No function imports this
module: it loads every area's models."""

from __future__ import annotations

import textwrap
from typing import Any

from marketplace.domain.agencies import AGENCY, SUBMISSION
from marketplace.domain.challenges import CHALLENGE
from marketplace.domain.consortium import MEMBERSHIP
from marketplace.domain.contracts import CONTRACT
from marketplace.domain.credit_appeals import APPEAL
from marketplace.domain.inspections import INSPECTION
from marketplace.domain.lifecycle import Lifecycle, markdown
from marketplace.domain.performance import DELIVERY
from marketplace.domain.purchases import ENROLLMENT, PURCHASE, RESULT
from marketplace.domain.shelf import OFFER

LIFECYCLES: tuple[tuple[Lifecycle[Any], str], ...] = (
    (
        PURCHASE,
        "A purchase starts as a `draft` (`POST /purchases`). `submit`, `publish` and `publish_direct` "
        "are the one call `POST /purchases/{id}/submit`: a fiscal purchase (or any, where the rules "
        "say so) goes to the admin's review, any other publishes at once, a direct selection with "
        "its result. `approve`, `approve_direct` and `return` are `POST /purchases/{id}/review`. "
        "`close`, `close_failed`, `draw`, `short_list`, `escalate` and `issue_letter` are the "
        "window's tasks (the purchase's Step Functions execution, or the sweeper). `confirm` and "
        "`accept` record one party's confirmation; `conclude` is the second of the two "
        "(`POST .../confirmation` or `POST .../acceptance`), which confirms the purchase. "
        "`abandon_last` is an abandonment with no reserve left to move up. "
        "`register_contract` is `POST /purchases/{id}/contract`; `sign_contract` and `refuse_contract` "
        "are `POST /purchases/{id}/contract/signature`; `remind_contract` and `escalate_contract` are "
        "the hourly contract task (reminders 7 and 1 days before the contract deadline, the admin told "
        "once at it). After the contract: `deliver` is the agency's `POST /purchases/{id}/delivery`; "
        "`complete` and `dispute` are the owner's `POST /purchases/{id}/completion`; "
        "`complete_by_silence` is the hourly task completing a delivery whose window passed; "
        "`evaluate` (the owner) and `rate_output` (the item's regulator) are "
        "`POST /purchases/{id}/evaluations`. `suspend` is an accepted "
        "challenge (`POST /challenges/{id}/answer`) or an upheld complaint about the announcement "
        "(`POST /challenges/{id}/decision`) before the result: the window stops; `resume_enrollment`, "
        "`resume_closed` and `resume_selecting` are `POST /purchases/{id}/resumption`, back to the "
        "state it had with every remaining deadline moved by the time it was suspended; `cancel` is "
        "`POST /purchases/{id}/cancellation`. `annul` (and `annul_last`, no candidate left) is an "
        "accepted challenge or an upheld complaint about a result not yet confirmed. "
        "`shelf_purchase` is `POST /shelf/{offer_id}/purchase` (网上直购): the purchase is written "
        "`confirmed` at once (it is never stored as a draft), with its result, its reason and its "
        "letter. A reward purchase (守信激励) publishes with its result through `publish_direct` or "
        "`approve_direct`, as a direct selection does.",
    ),
    (
        RESULT,
        "A result is part of its purchase; its state is read from its fields: `short_listed` (no "
        "agency picked yet), then whether the owner confirmed and the selected agency accepted, "
        "and `lapsed` when the last agency abandoned or was annulled. An abandonment moves the first "
        "reserve that may still take part up, with a fresh window (`awaiting`); an annulment does too, "
        "or, with no reserve left, the next candidate of the draw proof's ranking.",
    ),
    (
        CHALLENGE,
        "A challenge (质疑) starts `filed` (`POST /purchases/{id}/challenges`, an enrolled agency). "
        "`accept` and `reject` are the owner's answer (`POST /challenges/{id}/answer`); `lapse` is the "
        "sweeper escalating a challenge unanswered at its deadline to the admin. `complain` is the "
        "challenger's complaint (`POST /challenges/{id}/complaint`) after a rejection or no answer "
        "(from `filed` once the answer deadline passed, before the sweeper ran); `uphold` and "
        "`dismiss` are the regulator's or the admin's decision (`POST /challenges/{id}/decision`); "
        "`close` is the sweeper ending a complaint window that passed.",
    ),
    (
        CONTRACT,
        "A contract is part of its purchase. The owner's first `POST /purchases/{id}/contract` (generated "
        "from the item's template, or uploaded by reference and hash) makes it `awaiting_signature`; "
        "another registration before the agency acts `replace`s it (the earlier one stays listed); "
        "`sign` and `refuse` are the selected agency's `POST .../contract/signature` (a signature "
        "makes the purchase `contracted`; a refusal records `contract_refused` on the agency's "
        "credit); after a refusal the owner may `register` a new one within the deadline.",
    ),
    (
        DELIVERY,
        "A delivery starts `reported` with the contracted agency's first report "
        "(`POST /purchases/{id}/delivery`). The owner's `POST /purchases/{id}/completion` accepts "
        "it (`accept`) or disputes it with reasons (`dispute`) within the configured working days "
        "(`RULE_COMPLETION_WORKING_DAYS`); after them the scheduled task accepts it "
        "(`accept_by_silence`, recorded as such). A disputed delivery is reported again (`report`).",
    ),
    (
        OFFER,
        "A shelf offering (网上直购) starts `listed` (`POST /agencies/{id}/shelf`, the agency's own "
        "users, for an item it is admitted to); `withdraw` is `DELETE /agencies/{id}/shelf/{offer_id}`: "
        "it leaves the shelf and can no longer be bought. Purchases already made keep what they bought.",
    ),
    (
        ENROLLMENT,
        "An enrollment starts `enrolled` (`POST /purchases/{id}/enrollments`) while the purchase's "
        "table allows `enroll`; `withdraw` is `DELETE .../enrollments/{agency}`. `judge` marks, when "
        "enrollment closes, whether the enrollment counts.",
    ),
    (
        MEMBERSHIP,
        "A consortium member's place (联合体成员, docs/consortium.md) starts `invited` when its lead "
        "enrolls naming it (`POST /purchases/{id}/enrollments` with `consortium`); `accept` and `decline` "
        "are the member's `POST /purchases/{id}/enrollments/{lead}/membership` before the enrollment "
        "deadline; `release` is the lead's withdrawal (`DELETE .../enrollments/{lead}`); a declined or "
        "released member may be `invite`d by another lead. When enrollment closes, a consortium with a "
        "member not `accepted` does not count (the enrollment's `judge`).",
    ),
    (
        AGENCY,
        "An agency starts `applying` with its first application (`POST /agencies`). `admit` and "
        "`return` close the joint review (the last approval, or one rejection); `resubmit` is "
        "`POST /agencies` again after a return; `change` opens a change or an extension, reviewed "
        "the same way while the record in force stays. `suspend`, `expel` and `reinstate` are "
        "`POST /agencies/{id}/suspension`, `/expulsion` and `/reinstatement`; an agency expelled "
        "before it was ever admitted is reinstated as `returned` (`reinstate_applicant`) and may "
        "apply again. `suspend_items` is the daily certificate check suspending the items an "
        "expired certificate no longer supports. `blacklist` expels every item for the blacklist "
        "period when serious dishonesty is recorded (a regulator's finding or an imported one); "
        "`lift_blacklist` restores them when the period ends (the `lift_blacklists` task) or an "
        "appeal revokes the finding.",
    ),
    (
        SUBMISSION,
        "A submission (an application, a change or an extension) is reviewed jointly by the admin "
        "and the regulators of its items' industries: each reviewer's decision is a `review` "
        "(`POST /agencies/{id}/reviews`), and the deciding one closes it: `approve` with the last "
        "approval (which admits an applying agency, or puts a change in force), `return` with a "
        "rejection. Expelling the agency returns its submission under review "
        "(`close_on_expulsion`).",
    ),
    (
        APPEAL,
        "Credit repair (信用修复): the agency appeals an event of its own ledger, once "
        "(`POST /credit/events/{id}/appeal`: `filed`); the admin decides "
        "(`POST /credit/events/{id}/appeal/decision`): `uphold` keeps the event, `revoke` records a "
        "compensating `revocation` event of the negated points (the event is never edited). Both are "
        "public on the agency's credit profile.",
    ),
    (
        INSPECTION,
        "A random inspection (双随机抽查, docs/inspections.md) starts `planned` (`POST /inspections`, a "
        "regulator of the industry): its candidates are frozen and the commitment to its seed is "
        "public. `draw` is the task every minute drawing the plans whose `draw_at` has come (the "
        "agencies and the inspectors, with the proof). `record_result` is "
        "`POST /inspections/{id}/results` for a drawn agency, once each; `close` is the last of "
        "them. `cancel` is `POST /inspections/{id}/cancellation`, only before the draw.",
    ),
)

HEADER = """# Lifecycles

Generated from the tables in `layers/common/python/marketplace/domain/` by
`python -m marketplace.domain.lifecycles > docs/lifecycles.md`; a unit test fails when this file
and the tables differ. Why tables: docs/adr/0010-lifecycle-tables.md.

Each row: from a state, an action, taken by a role (`system` is a timed task), moves the record to
a state. A row whose two states are the same changes the record but not its state (a repeat of a
confirmation changes nothing at all). Every move is a conditional write on the row's from-state,
so a repeated or racing request cannot apply it twice.

Any other action in a state is refused with `409` and a problem document naming the state, the
action and what the state allows, for example:

```json
{"status": 409, "title": "Conflict with the current state",
 "detail": "purchase P-1 is failed: enroll is not allowed in that state (allowed: reannounce)",
 "state": "failed", "action": "enroll", "allowed": ["reannounce"], "reason": "late"}
```

Two exceptions, on purpose: an agency acting on a purchase that is not published gets `404` (it
does not learn that the draft exists), and a window task triggered in a state its row does not
start from changes nothing and reports the state (the Step Functions execution and the sweeper
may both trigger a step; the second finds it done).
"""


def title(lifecycle: Lifecycle[Any]) -> str:
    """The section's heading: the record, in the plural."""
    record = lifecycle.record.capitalize()
    return record[:-1] + "ies" if record.endswith("y") else record + "s"


def document() -> str:
    parts = [HEADER]
    for lifecycle, prose in LIFECYCLES:
        heading = title(lifecycle)
        states = ", ".join(f"`{state.value}`" for state in lifecycle.states)
        text = textwrap.fill(f"{prose} States: {states}.", width=100, break_on_hyphens=False)
        parts.append(f"## {heading}\n\n{text}\n\n{markdown(lifecycle)}\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(document(), end="")
