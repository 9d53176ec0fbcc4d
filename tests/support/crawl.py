"""A crawl of every public route (the route registry's routes without roles) and a detector of
personal data in what they answer: PRC resident ID numbers, mobile and landline numbers, e-mail
addresses, and the exact names and home addresses the fixtures planted (DOMAIN.md: personal data of
people other than legal representatives is never disclosed).

Path parameters are filled from `PARAM_IDS`: each names the response keys whose values are such ids
(harvested from every reply the flows and the crawl get) and ids the flows are known to create. A
public route with a parameter missing from the table fails the crawl, naming what to add: a new
public route cannot go unchecked."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tests.conftest import Api

# -- the detector ---------------------------------------------------------------------------------

_ALNUM_BEFORE, _ALNUM_AFTER = r"(?<![0-9A-Za-z])", r"(?![0-9A-Za-z])"
RESIDENT_ID = re.compile(_ALNUM_BEFORE + r"(\d{17}[\dXx])" + _ALNUM_AFTER)
MOBILE = re.compile(_ALNUM_BEFORE + r"(?:\+?86[- ]?)?(1[3-9]\d{9})" + _ALNUM_AFTER)
LANDLINE = re.compile(_ALNUM_BEFORE + r"(0\d{2,3}-\d{7,8})" + _ALNUM_AFTER)
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def resident_id_check(first17: str) -> str:
    """GB 11643-1999: the check character of an 18-character resident ID number."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def is_resident_id(value: str) -> bool:
    """18 characters with a valid check character and a real birth date (so a credit code or any
    other 18-digit number rarely passes)."""
    if not re.fullmatch(r"\d{17}[\dXx]", value):
        return False
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return 1900 <= born.year <= 2100 and resident_id_check(value[:17]) == value[17].upper()


@dataclass
class Planted:
    """The personal data the fixtures put in, by kind: each exact value must never be shown."""

    names: set[str] = field(default_factory=set)  # people other than legal representatives
    addresses: set[str] = field(default_factory=set)  # home addresses
    phones: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    id_numbers: set[str] = field(default_factory=set)

    def add_contacts(self, contacts: Iterable[dict[str, Any]]) -> None:
        for contact in contacts:
            self.names.add(contact["name"])
            self.phones.add(contact["phone"])
            if contact.get("email"):
                self.emails.add(contact["email"])

    def add_agency(self, profile: dict[str, Any], *, home_address: bool = False) -> None:
        """An agency profile's contacts, practitioners and branch contacts; its registered address
        too when the agency is a natural person's business (`home_address`)."""
        self.add_contacts(profile.get("contacts", []))
        for practitioner in profile.get("practitioners", []):
            self.names.add(practitioner["name"])
            self.phones.add(practitioner["phone"])
            self.id_numbers.add(practitioner["id_number"])
        for branch in profile.get("branches", []):
            self.add_contacts(branch.get("contacts", []))
        if home_address:
            self.addresses.add(profile["legal_entity"]["address"])

    def add_owner(self, profile: dict[str, Any]) -> None:
        """An owner's contacts and address (its unit's contact address; a person's home)."""
        self.add_contacts(profile.get("contacts", []))
        if profile.get("address"):
            self.addresses.add(profile["address"])
        if profile.get("owner_type") == "person":
            self.names.add(profile["name"])


@dataclass(frozen=True)
class Finding:
    kind: str
    value: str
    where: str

    def __str__(self) -> str:
        return f"{self.where}: {self.kind} {self.value!r}"


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def find_personal(text: str, planted: Planted, where: str = "") -> list[Finding]:
    found: list[Finding] = []
    for match in RESIDENT_ID.finditer(text):
        if is_resident_id(match.group(1)):
            found.append(Finding("resident ID number", match.group(1), where))
    found += [Finding("mobile number", m.group(1), where) for m in MOBILE.finditer(text)]
    found += [Finding("landline number", m.group(1), where) for m in LANDLINE.finditer(text)]
    found += [Finding("e-mail address", m.group(0), where) for m in EMAIL.finditer(text)]
    for kind, values in (
        ("planted ID number", planted.id_numbers),
        ("planted e-mail address", planted.emails),
        ("home address", planted.addresses),
        ("person's name", planted.names),
    ):
        found += [Finding(kind, v, where) for v in sorted(values) if v in text]
    # A phone however it is written: its digits in a row, a space or hyphen allowed between them.
    for phone in sorted(planted.phones):
        pattern = r"(?<!\d)" + r"[\s\-]?".join(_digits(phone)) + r"(?!\d)"
        if re.search(pattern, text):
            found.append(Finding("planted phone", phone, where))
    return found


# -- what fills the routes' parameters -----------------------------------------------------------


@dataclass(frozen=True)
class Ids:
    """Where a path parameter's values come from: response keys holding such ids, and ids the flows
    are known to create."""

    keys: tuple[str, ...] = ()
    seeds: tuple[str, ...] = ()


# param -> ids. EXTEND at merge: every public route's path parameter needs an entry.
PARAM_IDS: dict[str, Ids] = {
    "purchase_id": Ids(keys=("purchase_id", "reannounces", "reannounced_as", "batch_of")),
    "agency_id": Ids(keys=("agency_id", "selected_agency", "lead"), seeds=("AG-1", "AG-CREDIT-1")),
    "code": Ids(keys=("item_code",), seeds=("ZJ-HP-001",)),
    "owner_id": Ids(keys=("owner_id",)),
    "year": Ids(seeds=("2026",)),
    "letter_id": Ids(keys=("letter_id",), seeds=("L-SCENARIO-1",)),
    "offer_id": Ids(keys=("offer_id",)),
    "event_id": Ids(keys=("credit_event_id",)),
    "ocid": Ids(keys=("ocid",)),
    "inspection_id": Ids(
        keys=("inspection_id",)
    ),  # GET /inspections lists them  # the OCDS feed names each release's ocid
}

# Extra query strings per route name (the bare path is always called too).
QUERIES: dict[str, tuple[str, ...]] = {
    "list_purchases": ("?limit=100", "?status=evaluated", "?status=cancelled", "?status=failed"),
    "list_agencies": ("?limit=100", "?status=admitted", "?status=expelled"),
    "list_owners": ("?limit=100",),
    "browse_shelf": ("?item_code=ZJ-HP-002&region=330106",),
    "list_catalogue_items": ("?limit=100",),
}

# Public routes that take a body: route name -> the bodies to send, from the replies so far
# (route name -> the successful reply bodies).
BODIES: dict[str, Callable[[dict[str, list[Any]]], list[Any]]] = {
    "verify_letter": lambda seen: [b for b in seen.get("get_letter", []) if isinstance(b, dict)],
}

MAX_IDS_PER_PARAM = 40
PATH_PARAM = re.compile(r"\{(\w+)\}")


@dataclass
class Crawl:
    """Every public route called with every id known for its parameters, until no new call is left."""

    api: Api
    planted: Planted
    routes: list[Any]
    callers: list[str | None] = field(default_factory=lambda: [None])  # tokens; None: anonymous
    pools: dict[str, set[str]] = field(default_factory=dict)
    ok: dict[str, list[Any]] = field(default_factory=dict)  # route name -> 2xx bodies
    statuses: dict[str, list[int]] = field(default_factory=dict)
    called: set[tuple[str, str, str]] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def harvest(self, value: Any) -> None:
        """Every id a body names under a key `PARAM_IDS` knows."""
        if isinstance(value, dict):
            for key, child in value.items():
                for param, ids in PARAM_IDS.items():
                    if key in ids.keys and isinstance(child, str) and child:
                        self.pools.setdefault(param, set()).add(child)
                self.harvest(child)
        elif isinstance(value, list):
            for child in value:
                self.harvest(child)
        elif hasattr(value, "body"):  # a Reply from the flows
            self.harvest(value.body)

    def run(self, rounds: int = 4) -> None:
        for param, ids in PARAM_IDS.items():
            self.pools.setdefault(param, set()).update(ids.seeds)
        for _ in range(rounds):
            before = len(self.called)
            for spec in self.routes:
                self._route(spec)
            if len(self.called) == before:
                break
        for spec in self.routes:
            self._check_reached(spec)

    def _route(self, spec: Any) -> None:
        params = PATH_PARAM.findall(spec.path)
        if any(p not in PARAM_IDS for p in params):
            return
        values = [sorted(self.pools.get(p, set()))[:MAX_IDS_PER_PARAM] for p in params]
        queries = ("", *QUERIES.get(spec.name, ()))
        for combo in itertools.product(*values):
            path = spec.path
            for param, value in zip(params, combo, strict=True):
                path = path.replace("{" + param + "}", value)
            for query in queries:
                self._call(spec, path + query)

    def _call(self, spec: Any, path: str) -> None:
        bodies: list[Any] = [None]
        if spec.method != "GET":
            if spec.name not in BODIES:
                return
            bodies = BODIES[spec.name](self.ok)
        for n, body in enumerate(bodies):
            for caller in self.callers if spec.optional_auth else [None]:
                key = (spec.name, path + f"#{n}", caller or "")
                if key in self.called:
                    continue
                self.called.add(key)
                reply = self.api.call(spec.method, path, body, token=caller)
                self._scan(spec, path, reply, anonymous=caller is None)
                # Follow a list's next page once: what a page shows, the next shows too.
                cursor = reply.body.get("cursor") if isinstance(reply.body, dict) else None
                if cursor and reply.status == 200 and "cursor=" not in path:
                    sep = "&" if "?" in path else "?"
                    self._call(spec, f"{path}{sep}cursor={cursor}")

    def _scan(self, spec: Any, path: str, reply: Any, *, anonymous: bool) -> None:
        where = f"{spec.method} {path}" + ("" if anonymous else " (a stranger's token)")
        self.statuses.setdefault(spec.name, []).append(reply.status)
        if reply.status >= 500:
            self.problems.append(f"{where} answered {reply.status}: {reply.body}")
        if 200 <= reply.status < 300:
            self.ok.setdefault(spec.name, []).append(reply.body)
        body = reply.body if isinstance(reply.body, str) else json.dumps(reply.body, ensure_ascii=False)
        self.findings += find_personal(body, self.planted, where)
        headers = "\n".join(f"{k}: {v}" for k, v in reply.headers.items())
        self.findings += find_personal(headers, self.planted, where + " [headers]")
        self.harvest(reply.body)

    def _check_reached(self, spec: Any) -> None:
        route = f"{spec.method} {spec.path} ({spec.name})"
        missing = [p for p in PATH_PARAM.findall(spec.path) if p not in PARAM_IDS]
        if missing:
            self.problems.append(
                f"{route}: no ids for {', '.join(missing)}: add `PARAM_IDS[{missing[0]!r}] = "
                "Ids(keys=(...), seeds=(...))` in tests/support/crawl.py (the response keys naming such "
                "ids, or ids a flow creates)"
            )
        elif spec.method != "GET" and spec.name not in BODIES:
            self.problems.append(
                f"{route}: takes a body: add `BODIES[{spec.name!r}]` in tests/support/crawl.py"
            )
        elif spec.name not in self.ok:
            empty = [p for p in PATH_PARAM.findall(spec.path) if not self.pools.get(p)]
            answered = sorted(set(self.statuses.get(spec.name, [])))
            hint = (
                f"no value of {', '.join(empty)} was found: seed PARAM_IDS or add a flow that creates one"
                if empty
                else f"it answered only {answered}: add a flow whose ids it shows"
            )
            self.problems.append(f"{route} was never answered with a 2xx: {hint}")
