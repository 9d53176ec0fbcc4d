"""The tables, defined once. The deployable template's table resources are generated from these
models (infra/tables.py) and the local stack creates its tables from them too."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from marketplace.domain.statistics_counters import COUNTERS as STATISTICS_COUNTERS
from marketplace.repositories.base import TableMeta
from marketplace.repositories.base import table_name as prefixed


class _Meta(TableMeta):
    billing_mode = "PAY_PER_REQUEST"


def _index_meta(name: str, projection: Any = None) -> type:
    return type("Meta", (), {"index_name": name, "projection": projection or AllProjection()})


class CatalogueListIndex(GlobalSecondaryIndex["CatalogueItemRow"]):
    """Every item's head row, in code order: the public list without filters."""

    Meta = _index_meta("by-listing")
    listing = UnicodeAttribute(hash_key=True)
    code = UnicodeAttribute(range_key=True)


class CatalogueTypeIndex(GlobalSecondaryIndex["CatalogueItemRow"]):
    Meta = _index_meta("by-type")
    idx_type = UnicodeAttribute(hash_key=True)
    code = UnicodeAttribute(range_key=True)


class CatalogueDepartmentIndex(GlobalSecondaryIndex["CatalogueItemRow"]):
    Meta = _index_meta("by-department")
    idx_department = UnicodeAttribute(hash_key=True)
    code = UnicodeAttribute(range_key=True)


class CatalogueItemRow(Model):
    """One row per item version (`sk` = `V#000001`) plus a head row (`sk` = `HEAD`) that points at
    the newest version and alone carries the index keys, so the indexes list items, not versions."""

    class Meta(_Meta):
        suffix = "catalogue"
        table_name = prefixed(suffix)

    code = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    latest_version = NumberAttribute(null=True)
    status = UnicodeAttribute(null=True)
    listing = UnicodeAttribute(null=True)
    idx_type = UnicodeAttribute(null=True)
    idx_department = UnicodeAttribute(null=True)
    search_text = UnicodeAttribute(null=True)
    document = JSONAttribute()

    by_listing = CatalogueListIndex()
    by_type = CatalogueTypeIndex()
    by_department = CatalogueDepartmentIndex()


class OwnerListIndex(GlobalSecondaryIndex["OwnerRow"]):
    Meta = _index_meta("by-listing")
    listing = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute(range_key=True)


class OwnerRow(Model):
    """Owners by id, plus guard rows (`owner_id` = `credit-code#<code>`) that make a credit code
    unique across owners inside the registration transaction."""

    class Meta(_Meta):
        suffix = "owners"
        table_name = prefixed(suffix)

    owner_id = UnicodeAttribute(hash_key=True)
    listing = UnicodeAttribute(null=True)
    owner_type = UnicodeAttribute(null=True)
    holder = UnicodeAttribute(null=True)
    search_text = UnicodeAttribute(null=True)  # the name: what the public sees and may search
    search_code = UnicodeAttribute(null=True)  # the credit code: searched for the admin only
    document = JSONAttribute(null=True)
    version = NumberAttribute(default=1)

    by_listing = OwnerListIndex()


class IdempotencyRow(Model):
    """The first response to a create-style request, by caller, operation and Idempotency-Key."""

    class Meta(_Meta):
        suffix = "idempotency"
        table_name = prefixed(suffix)

    key = UnicodeAttribute(hash_key=True)
    request_hash = UnicodeAttribute()
    state = UnicodeAttribute()
    response = JSONAttribute(null=True)
    # Expiry is enforced in code too: TTL deletion is eventual (and never happens on moto).
    expires_at = NumberAttribute()


class CalendarRow(Model):
    """Working-day calendars the admin has loaded, one row per region and year."""

    class Meta(_Meta):
        suffix = "calendars"
        table_name = prefixed(suffix)

    region = UnicodeAttribute(hash_key=True)
    year = NumberAttribute(range_key=True)
    document = JSONAttribute()
    loaded_at = UnicodeAttribute()
    loaded_by = UnicodeAttribute()


class OutboxRow(Model):
    """A domain event written in the same transaction as the change it describes; deleted once it
    is on the bus. The relay re-publishes what a failed publish left behind, found by a Scan of the
    table (no index: rows live for milliseconds, so the table is all but empty, and an index would
    cost every event two more write units, its entry's put and delete)."""

    class Meta(_Meta):
        suffix = "outbox"
        table_name = prefixed(suffix)

    event_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute()
    detail_type = UnicodeAttribute()
    detail = JSONAttribute()


class AgencyListIndex(GlobalSecondaryIndex["AgencyRow"]):
    """Agencies' profile rows: the public directory without an item filter."""

    Meta = _index_meta("by-listing")
    listing = UnicodeAttribute(hash_key=True)
    agency_id = UnicodeAttribute(range_key=True)


class AgencyItemIndex(GlobalSecondaryIndex["AgencyRow"]):
    """Offering rows by catalogue item: who is admitted for an item."""

    Meta = _index_meta("by-item")
    item_code = UnicodeAttribute(hash_key=True)
    agency_id = UnicodeAttribute(range_key=True)


class AgencyReviewQueueIndex(GlobalSecondaryIndex["AgencyRow"]):
    """Pending review rows by review slot (`admin`, `industry:<x>`), oldest deadline first."""

    Meta = _index_meta("by-review-queue")
    queue = UnicodeAttribute(hash_key=True)
    due_at = UnicodeAttribute(range_key=True)


class AgencyExpiryIndex(GlobalSecondaryIndex["AgencyRow"]):
    """Certificate rows by expiry date, for the daily check."""

    Meta = _index_meta("by-expiry")
    expiry_bucket = UnicodeAttribute(hash_key=True)
    expires_on = UnicodeAttribute(range_key=True)


class AgencyShelfIndex(GlobalSecondaryIndex["AgencyRow"]):
    """Listed shelf offerings (网上直购) by item, newest first (sparse: withdrawing an offering
    removes its `shelf_item`): the public shelf is one Query, filtered by region on `regions`."""

    Meta = _index_meta("by-shelf")
    shelf_item = UnicodeAttribute(hash_key=True)
    shelf_sort = UnicodeAttribute(range_key=True)


class AgencyRow(Model):
    """One agency's partition. `sk` names the row:
    `PROFILE` (status, the admitted record, history), `SUB#000001` (a submission: admission,
    change or extension), `SUB#000001#DEC#<slot>` (a reviewer's decision), `SUB#000001#PENDING#<slot>`
    (a review still owed, in the queue index), `VER#000001` (an admitted record version),
    `OFFER#<item>` (an admitted offering, in the item index), `CERT#<number>` (an admitted
    certificate, in the expiry index), `SHELF#<offer id>` (a fixed-price shelf offering, in the
    shelf index while listed). Guard rows `credit-code#<code>` keep credit codes unique."""

    class Meta(_Meta):
        suffix = "agencies"
        table_name = prefixed(suffix)

    agency_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    listing = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    item_code = UnicodeAttribute(null=True)
    queue = UnicodeAttribute(null=True)
    due_at = UnicodeAttribute(null=True)
    expiry_bucket = UnicodeAttribute(null=True)
    expires_on = UnicodeAttribute(null=True)
    regions = UnicodeAttribute(null=True)
    search_text = UnicodeAttribute(null=True)
    open_submission = NumberAttribute(null=True)
    submissions = NumberAttribute(null=True)
    record_version = NumberAttribute(null=True)
    # Every write of a profile row increments it, conditioned on the value it read: no writer
    # replaces a profile that changed since it was read.
    revision = NumberAttribute(null=True)
    approvals = NumberAttribute(null=True)
    rejections = NumberAttribute(null=True)
    holder = UnicodeAttribute(null=True)
    shelf_item = UnicodeAttribute(null=True)
    shelf_sort = UnicodeAttribute(null=True)
    document = JSONAttribute(null=True)

    by_listing = AgencyListIndex()
    by_item = AgencyItemIndex()
    by_review_queue = AgencyReviewQueueIndex()
    by_expiry = AgencyExpiryIndex()
    by_shelf = AgencyShelfIndex()


# The purchase indexes hold keys and what their queries filter on, not the purchase: a list reads
# the purchases it found in one BatchGetItem (with their enrollment counts), and an update of the
# purchase (every step, every enrollment) writes no index whose keys and filter attributes it
# leaves as they were (docs/adr/0003-table-design.md).


class PurchaseListIndex(GlobalSecondaryIndex["PurchaseRow"]):
    """Published purchases, newest first: the public list without a status or item filter."""

    Meta = _index_meta("by-listing", IncludeProjection(["region"]))
    listing = UnicodeAttribute(hash_key=True)
    published_at = UnicodeAttribute(range_key=True)


class PurchaseStatusIndex(GlobalSecondaryIndex["PurchaseRow"]):
    Meta = _index_meta("by-status", IncludeProjection(["public_item", "region"]))
    public_status = UnicodeAttribute(hash_key=True)
    published_at = UnicodeAttribute(range_key=True)


class PurchaseItemIndex(GlobalSecondaryIndex["PurchaseRow"]):
    Meta = _index_meta("by-item", IncludeProjection(["region"]))
    public_item = UnicodeAttribute(hash_key=True)
    published_at = UnicodeAttribute(range_key=True)


class PurchaseOwnerIndex(GlobalSecondaryIndex["PurchaseRow"]):
    """An owner's purchases, drafts included."""

    Meta = _index_meta("by-owner", IncludeProjection(["status"]))
    owner_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class PurchaseEnrolledIndex(GlobalSecondaryIndex["PurchaseRow"]):
    """Enrollment rows by agency: an agency's own enrollments (keys only: closing's marks on each
    enrollment write no index)."""

    Meta = _index_meta("by-enrolled-agency", KeysOnlyProjection())
    enrolled_agency = UnicodeAttribute(hash_key=True)
    purchase_id = UnicodeAttribute(range_key=True)


class PurchaseDueIndex(GlobalSecondaryIndex["PurchaseRow"]):
    """Purchases with a timed step pending (close, select, confirmation deadline, a letter to issue),
    by when it is due: the sweeper's safety net behind each purchase's state machine. Keys only: the
    sweeper reads each purchase anyway, and updates of other attributes cost this index no writes."""

    Meta = _index_meta("by-due", KeysOnlyProjection())
    due = UnicodeAttribute(hash_key=True)
    due_at = UnicodeAttribute(range_key=True)


class PurchaseRow(Model):
    """One purchase's partition. `sk` names the row: `PURCHASE` (the purchase, its state and the
    draw's secret seed until the draw reveals it), `PURCHASE#WINDOW` (the enrollment count, and the
    deadline while enrollment is open: the small row an enrollment updates), `ENR#<agency>` (an
    enrollment), `DRAW` (the proof), `MEMBER#<agency>` (the agency's place in a consortium, its
    `lead_id` naming the lead: domain/consortium.py). Partitions `OWNER#<owner id>` hold an owner's
    yearly tally (`TALLY#<year>`: its published purchases and reward purchases that year, the reward
    share's count, updated in the transaction that publishes) and its shelf purchases' markers
    (`SHELF#<project code>#<item code>`: the purchase that bought the item for the project)."""

    class Meta(_Meta):
        suffix = "purchases"
        table_name = prefixed(suffix)

    purchase_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute(null=True)
    owner_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(null=True)
    listing = UnicodeAttribute(null=True)
    public_status = UnicodeAttribute(null=True)
    public_item = UnicodeAttribute(null=True)
    published_at = UnicodeAttribute(null=True)
    region = UnicodeAttribute(null=True)
    enrolled_agency = UnicodeAttribute(null=True)
    due = UnicodeAttribute(null=True)
    due_at = UnicodeAttribute(null=True)
    enrollment_deadline = UnicodeAttribute(null=True)
    # On the WINDOW row: the enrollment deadline while enrollment is open (an enrollment is
    # conditioned on it being later than now; closing removes it), and the count.
    open_until = UnicodeAttribute(null=True)
    enrollments = NumberAttribute(null=True)
    # Every enrollment and withdrawal adds one: closing is conditioned on the value it read, so no
    # enrollment can land between closing's read of the enrollments and its write.
    enrollment_changes = NumberAttribute(null=True)
    # On the WINDOW row: the agencies a consortium holds in this purchase (domain/consortium.py).
    # Every enrollment already updates this row, so its condition that the agency is not among them
    # costs nothing; a lead's enrollment adds its members conditioned on none being there yet.
    members = UnicodeSetAttribute(null=True)
    # Price bidding, on the window row: the further round open for quotes and until when (the
    # enrollment window's `open_until` serves round one). Quote rows: `QUOTE#<round, 2 digits>#<agency>`.
    bid_round = NumberAttribute(null=True)
    round_open_until = UnicodeAttribute(null=True)
    revision = NumberAttribute(null=True)
    seed = UnicodeAttribute(null=True)
    published_count = NumberAttribute(null=True)
    reward_count = NumberAttribute(null=True)
    lead_id = UnicodeAttribute(null=True)  # MEMBER# rows: the consortium's lead (a write's condition)
    # OWNER#<owner> / SHELF#<project code>#<item code> rows: the shelf purchase that bought this
    # item for this project (services.shelf: one per owner, project and item; a write's condition).
    bought = UnicodeAttribute(null=True)
    # Red flags (repositories/red_flags.py), on a `PURCHASE#REDFLAGS` row: the revision whose flags
    # the public list was last brought in line with.
    projected = NumberAttribute(null=True)
    document = JSONAttribute(null=True)

    by_listing = PurchaseListIndex()
    by_status = PurchaseStatusIndex()
    by_item = PurchaseItemIndex()
    by_owner = PurchaseOwnerIndex()
    by_enrolled_agency = PurchaseEnrolledIndex()
    by_due = PurchaseDueIndex()


class CreditDueIndex(GlobalSecondaryIndex["CreditRow"]):
    """Standings with a next due instant (an event starts or stops counting, a blacklist ends), in
    the order they fall due: the daily task reads those due by now with one Query. Sparse: only a
    standing with something still to come carries `due`."""

    Meta = _index_meta("by-credit-due", KeysOnlyProjection())
    due = UnicodeAttribute(hash_key=True)
    due_at = UnicodeAttribute(range_key=True)


class CreditRow(Model):
    """The credit ledger (信用记录), one partition per agency: `EVENT#<occurred_at>#<id>` rows,
    append-only (each with the standing it produced: `after`), `HISTORY#<instant>` rows for a score
    that changed by itself (an event's date passed), and one `STANDING` row, rewritten with each
    change conditioned on the `revision` read. The `RULES` partition holds the credit rules'
    versions (`V#000001`). Nothing here is updated in place or deleted."""

    class Meta(_Meta):
        suffix = "credit"
        table_name = prefixed(suffix)

    agency_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    revision = NumberAttribute(null=True)
    document = JSONAttribute(null=True)
    after = JSONAttribute(null=True)
    due = UnicodeAttribute(null=True)
    due_at = UnicodeAttribute(null=True)
    due_index = CreditDueIndex()


class InboxUnreadIndex(GlobalSecondaryIndex["InboxRow"]):
    """Unread entries only (sparse: reading an entry removes `unread_by`), in the order of their ids."""

    Meta = _index_meta("by-unread")
    unread_by = UnicodeAttribute(hash_key=True)
    notification_id = UnicodeAttribute(range_key=True)


class InboxRow(Model):
    """An inbox entry: `recipient` is `org:<org id>` or the admins' `role:admin`; the id starts with
    the event's instant, so the partition reads newest first, and ends with a digest of the event
    id and the recipient, so a redelivered event writes the same key."""

    class Meta(_Meta):
        suffix = "inbox"
        table_name = prefixed(suffix)

    recipient = UnicodeAttribute(hash_key=True)
    notification_id = UnicodeAttribute(range_key=True)
    unread_by = UnicodeAttribute(null=True)
    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    title = UnicodeAttribute()
    text = UnicodeAttribute()
    subject = UnicodeAttribute()
    link = UnicodeAttribute()
    occurred_at = UnicodeAttribute()
    read_at = UnicodeAttribute(null=True)

    by_unread = InboxUnreadIndex()


class OcdsPublishedIndex(GlobalSecondaryIndex["OcdsReleaseRow"]):
    """Every OCDS release (docs/ocds.md) in the order it was published: `GET /ocds/releases` reads
    one Query per page from `since`, the daily export one local day's range. One partition: a
    district publishes a few thousand releases a day, far below a partition's write rate."""

    Meta = _index_meta("by-published")
    feed = UnicodeAttribute(hash_key=True)
    published = UnicodeAttribute(range_key=True)


class OcdsReleaseRow(Model):
    """One OCDS release, append-only: a partition per ocid; the release id derives from the event
    that triggered it, so a redelivered event finds its row there and writes nothing."""

    class Meta(_Meta):
        suffix = "ocds"
        table_name = prefixed(suffix)

    ocid = UnicodeAttribute(hash_key=True)
    release_id = UnicodeAttribute(range_key=True)
    feed = UnicodeAttribute()
    published = UnicodeAttribute()  # `<published_at>#<release id>`: unique, in time order
    release = JSONAttribute()

    by_published = OcdsPublishedIndex()


class StatisticsRow(Model):
    """The district's statistics (domain/statistics.py; issue 12, stream statistics). Partitions:
    `AGG#<group_by>` with sort key `<month>#<value>`: one group's counters for one month of
    publication, kept by atomic ADDs, so a GET /statistics answer is one Query of one partition
    over a range of months; `PURCHASE#<purchase id>` / `STATE`: the purchase's resolved dimensions
    and milestones (`document`), rewritten conditioned on its `revision`; `LEDGER#<month>` /
    `<occurred_at>#<event id>`: the append-only ledger of folded events (put only if absent: the
    guard that applies an event once), and `LEDGER` / `MONTHS`: the set of the ledger's months."""

    class Meta(_Meta):
        suffix = "statistics"
        table_name = prefixed(suffix)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    value = UnicodeAttribute(null=True)
    month = UnicodeAttribute(null=True)
    revision = NumberAttribute(null=True)
    months = UnicodeSetAttribute(null=True)
    document = JSONAttribute(null=True)
    for _counter in STATISTICS_COUNTERS:
        locals()[_counter] = NumberAttribute(null=True)
    del _counter


ALL_MODELS: list[Any] = [
    CatalogueItemRow,
    OwnerRow,
    IdempotencyRow,
    CalendarRow,
    OutboxRow,
    AgencyRow,
    PurchaseRow,
    CreditRow,
    InboxRow,
    OcdsReleaseRow,  # ocds (issue 12)
    StatisticsRow,  # statistics (issue 12)
]
TTL_ATTRIBUTES: dict[str, str] = {"idempotency": "expires_at"}
