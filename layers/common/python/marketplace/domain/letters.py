"""The electronic confirmation letter (电子中选确认书, DOMAIN.md §6): its content, its canonical
bytes, its readable page, and the offline check of a signed letter (docs/letters.md).

The platform signs the canonical bytes of a `ConfirmationLetter` with its KMS key (ECDSA P-256,
SHA-256); anyone verifies them with the published public key. The shape below is the format
`confirmation-letter/v1` and is frozen: a stored letter is re-read and served through this model, so
any change that alters what a v1 letter dumps to would break every issued signature. A new shape is
a new `format`. No AWS here: the command-line verifier runs this module with pydantic and
`cryptography` (imported only when a signature is checked, marketplace/letter_signatures.py).
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Final, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
    model_validator,
)

from marketplace import letter_signatures
from marketplace.canonical_json import canonical_json
from marketplace.clock import iso, parse_iso
from marketplace.domain.catalogue import ITEM_CODE_PATTERN
from marketplace.domain.credit_code import CreditCode
from marketplace.domain.model import Model, StrictModel

FORMAT: Final = "confirmation-letter/v1"
# v1 plus `consortium`: a letter whose selected agency leads a consortium (联合体) names every
# member, its credit code and its part. A letter without one stays v1, byte for byte (the field is
# left out of its dump, not written as null).
FORMAT_CONSORTIUM: Final = "confirmation-letter/v2"
MAX_LETTER_MEMBERS = 5
SIGNING_ALGORITHM: Final = "ECDSA_SHA_256"
# KMS Sign takes a RAW message of at most 4096 bytes (it hashes it itself). Every text field is
# bounded so a letter of ordinary Chinese text fits; the check below refuses the rare one that would
# not, before KMS does with a less useful error.
MAX_CANONICAL_BYTES = 4096
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$"
LETTER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,79}$"
# Path segments of other letter routes: a letter with such an id could never be fetched.
RESERVED_LETTER_IDS = frozenset({"public-key", "verify"})
HEX_SHA256 = r"^[0-9a-f]{64}$"
# C0 and C1 controls, DEL and lone surrogates: none belongs in a letter, and refusing them leaves
# `"` and `\` as the only characters canonical JSON escapes (docs/letters.md).
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_MAX_YUAN = Decimal("999999999999.99")

Method = Literal[
    "random_draw", "credit_best_value", "direct", "price_bidding", "proposal_best_value", "shelf", "reward"
]
# The methods whose result is not drawn: the owner's named choice, or an offering bought from the shelf.
UNDRAWN: Final = frozenset({"direct", "shelf", "reward"})
FundingType = Literal["fiscal", "private"]


def _text(value: str) -> str:
    if _UNPRINTABLE.search(value):
        raise ValueError("must not contain control characters or unpaired surrogates")
    return value


def _timestamp(value: Any) -> str:
    """Any timezone-aware instant, stored as UTC ISO-8601 ending in `Z` (one spelling per instant)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("must carry a timezone")
        return iso(value)
    if not isinstance(value, str):
        raise ValueError("must be an ISO-8601 timestamp")
    try:
        return iso(parse_iso(value))
    except ValueError as exc:
        raise ValueError(f"must be an ISO-8601 timestamp with a timezone ({exc})") from exc


def _yuan(value: Any) -> str:
    """A positive amount in yuan with at most two decimals, as a decimal string with exactly two
    ("12000.00"): exact, unlike a JSON number a reader may turn into a float. Floats are refused."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        raise ValueError("must be a decimal string, an integer or a Decimal (not a float)")
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation as exc:
        raise ValueError("must be a decimal number of yuan") from exc
    if not amount.is_finite() or amount <= 0 or amount > _MAX_YUAN:
        raise ValueError(f"must be more than 0 and at most {_MAX_YUAN} yuan")
    cents = amount.quantize(Decimal("0.01"))
    if cents != amount:
        raise ValueError("must have at most two decimals (fen)")
    return f"{cents:.2f}"


Text = Annotated[str, AfterValidator(_text)]
Timestamp = Annotated[str, BeforeValidator(_timestamp)]
Yuan = Annotated[str, BeforeValidator(_yuan)]
Identifier = Annotated[str, Field(pattern=ID_PATTERN)]


class LetterOwner(StrictModel):
    owner_id: Identifier
    name: Text = Field(min_length=1, max_length=200)


class LetterAgency(StrictModel):
    agency_id: Identifier
    name: Text = Field(min_length=1, max_length=200)
    credit_code: CreditCode


class LetterMember(StrictModel):
    """A member of the selected consortium, as registered, with its part of the work."""

    agency_id: Identifier
    name: Text = Field(min_length=1, max_length=200)
    credit_code: CreditCode
    part: Text = Field(min_length=1, max_length=100)


class LetterConsortium(StrictModel):
    """The selected agency is the lead (牵头方) of this consortium (联合体)."""

    lead_part: Text = Field(default="", max_length=100)
    members: list[LetterMember] = Field(min_length=1, max_length=MAX_LETTER_MEMBERS)


class LetterItem(StrictModel):
    code: str = Field(pattern=ITEM_CODE_PATTERN)
    name: Text = Field(min_length=1, max_length=200)
    version: int = Field(ge=1, le=1_000_000, description="the catalogue version the purchase bought")


class LetterPrice(StrictModel):
    """Exactly one of the agreed amount (预算金额) and the ceiling (最高限价), in yuan as a string."""

    funding_type: FundingType
    amount_yuan: Yuan | None = None
    ceiling_yuan: Yuan | None = None

    @model_validator(mode="after")
    def _one_price(self) -> LetterPrice:
        if (self.amount_yuan is None) == (self.ceiling_yuan is None):
            raise ValueError("give exactly one of amount_yuan and ceiling_yuan")
        return self


class LetterDates(StrictModel):
    published_at: Timestamp
    enrollment_deadline: Timestamp | None = Field(default=None, description="null only for direct selection")
    selected_at: Timestamp
    owner_confirmed_at: Timestamp
    agency_accepted_at: Timestamp | None = Field(
        default=None, description="null when the letter is issued before the agency accepts"
    )


class DrawReference(StrictModel):
    """Where the draw's public proof is and what it committed to: the letter binds the result to it."""

    proof_path: str = Field(max_length=100, description="/purchases/{purchase_id}/draw")
    commitment: str = Field(pattern=HEX_SHA256)
    digest: str = Field(pattern=HEX_SHA256)


class ConfirmationLetter(StrictModel):
    """What the platform certifies: this agency was selected by this method for this purchase."""

    model_config = ConfigDict(frozen=True)

    format: Literal["confirmation-letter/v1", "confirmation-letter/v2"] = FORMAT
    letter_id: str = Field(pattern=LETTER_ID_PATTERN)
    purchase_id: Identifier
    project_code: Identifier
    title: Text = Field(min_length=1, max_length=200)
    owner: LetterOwner
    agency: LetterAgency
    item: LetterItem
    method: Method
    price: LetterPrice
    dates: LetterDates
    draw: DrawReference | None = Field(
        description="null for direct selection, reward mode and the shelf, required otherwise"
    )
    issued_at: Timestamp
    consortium: LetterConsortium | None = Field(
        default=None, description="v2 only: the consortium the selected agency leads; absent in v1"
    )

    @model_validator(mode="after")
    def _consistent(self) -> ConfirmationLetter:
        if self.letter_id in RESERVED_LETTER_IDS:
            raise ValueError(f"letter_id {self.letter_id!r} is reserved")
        drawn = self.method not in UNDRAWN
        if drawn != (self.draw is not None):
            raise ValueError("draw is required for a drawn selection, and null for direct, reward and shelf")
        if drawn and self.dates.enrollment_deadline is None:
            raise ValueError("dates.enrollment_deadline is required for a drawn selection")
        if (self.consortium is not None) != (self.format == FORMAT_CONSORTIUM):
            raise ValueError(f"a letter names a consortium exactly when its format is {FORMAT_CONSORTIUM}")
        if self.draw is not None and self.draw.proof_path != proof_path(self.purchase_id):
            raise ValueError(f"draw.proof_path must be {proof_path(self.purchase_id)}")
        size = len(self.canonical_bytes())
        if size > MAX_CANONICAL_BYTES:
            raise ValueError(f"the letter is {size} bytes in canonical form; KMS signs at most 4096")
        return self

    @model_serializer(mode="wrap")
    def _without_absent_consortium(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        """A v1 letter dumps exactly as before the field existed (no `consortium: null`)."""
        data = handler(self)
        if isinstance(data, dict) and data.get("consortium") is None:
            data.pop("consortium", None)
        return data

    def canonical_bytes(self) -> bytes:
        return canonical_json(self.model_dump(mode="json"))


class LetterSignature(StrictModel):
    algorithm: Literal["ECDSA_SHA_256"] = SIGNING_ALGORITHM
    key_id: str = Field(min_length=1, max_length=2048, description="the KMS key (ARN) that signed")
    value: str = Field(min_length=1, max_length=200, description="base64 of the DER ECDSA signature")


class IssuedLetter(Model):
    """The signed envelope, as stored (letters/<letter_id>.json) and served (GET /letters/{id})."""

    letter: ConfirmationLetter
    signature: LetterSignature

    @property
    def letter_id(self) -> str:
        return self.letter.letter_id


def proof_path(purchase_id: str) -> str:
    return f"/purchases/{purchase_id}/draw"


def valid_letter_id(letter_id: str) -> bool:
    return bool(re.fullmatch(LETTER_ID_PATTERN, letter_id)) and letter_id not in RESERVED_LETTER_IDS


def envelope_bytes(issued: IssuedLetter) -> bytes:
    """The stored envelope is canonical JSON too, so its "letter" member is the signed bytes verbatim."""
    return canonical_json(issued.model_dump(mode="json"))


# --- verification ------------------------------------------------------------------------------


def check(envelope: Any, key: letter_signatures.PublicKey, *, key_id: str | None = None) -> list[str]:
    """What is wrong with a signed letter, checked against `key` (the published key, whose KMS id
    is `key_id` when known); empty when the letter is authentic and well-formed."""
    if not isinstance(envelope, dict):
        return ["the envelope must be a JSON object with a letter and a signature"]
    letter, signature = envelope.get("letter"), envelope.get("signature")
    if not isinstance(letter, dict) or not isinstance(signature, dict):
        return ["the envelope must hold a letter object and a signature object"]
    problems = []
    extra = sorted(set(envelope) - {"letter", "signature"})
    if extra:
        problems.append(f"unexpected fields beside the letter and its signature: {', '.join(extra)}")
    extra = sorted(set(signature) - {"algorithm", "key_id", "value"})
    if extra:
        problems.append(f"unexpected fields in the signature: {', '.join(extra)}")
    return problems + _signature_problems(letter, signature, key, key_id) + _letter_problems(letter)


def _signature_problems(
    letter: dict[str, Any], signature: dict[str, Any], key: letter_signatures.PublicKey, key_id: str | None
) -> list[str]:
    algorithm = signature.get("algorithm")
    if algorithm != SIGNING_ALGORITHM:
        return [f"signature algorithm {algorithm!r} is not {SIGNING_ALGORITHM}"]
    signed_by = signature.get("key_id")
    if key_id is not None and signed_by != key_id:
        return [f"signed with key {signed_by!r}, not with the published key {key_id!r}"]
    der = _signature_bytes(signature.get("value"))
    if der is None:
        return ["signature value is not canonical base64"]
    try:
        message = canonical_json(letter)
    except (ValueError, TypeError) as exc:
        return [f"the letter has no canonical JSON form: {exc}"]
    if not letter_signatures.verify(key, message, der):
        return ["the signature does not match the letter: changed after signing, or signed by another key"]
    return []


def _signature_bytes(value: Any) -> bytes | None:
    """The DER signature, if `value` is its standard base64 exactly as the platform writes it:
    padding bits left over by other encoders would give one signature several spellings."""
    if not isinstance(value, str):
        return None
    try:
        der = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return der if der and base64.b64encode(der).decode("ascii") == value else None


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(["letter", *(str(part) for part in loc)])


def _letter_problems(letter: dict[str, Any]) -> list[str]:
    try:
        parsed = ConfirmationLetter.model_validate(letter)
    except ValidationError as exc:
        return [f"{_where(err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)]
    if parsed.model_dump(mode="json") != letter:
        return ["the letter is not in its normalised form (a field differs from how the platform writes it)"]
    return []


# --- the readable page -------------------------------------------------------------------------

METHOD_NAMES = {
    "random_draw": "随机选取",
    "credit_best_value": "信用择优",
    "direct": "直接选取",
    "price_bidding": "竞价选取",
    "proposal_best_value": "方案择优",
    "shelf": "网上直购",
    "reward": "守信激励",
}
FUNDING_NAMES = {"fiscal": "财政资金", "private": "自有资金"}
ALGORITHM_NAMES = {SIGNING_ALGORITHM: "ECDSA P-256 / SHA-256"}
SEAL_HEADING = "电子签章"
_STYLE = (
    "body{font-family:'Noto Serif CJK SC','Songti SC',SimSun,serif;max-width:46em;margin:2em auto;"
    "padding:0 1em;color:#111;line-height:1.6}h1{text-align:center;letter-spacing:.3em}"
    "h2{font-size:1.05em;border-bottom:1px solid #999;margin-top:1.6em}"
    "table{border-collapse:collapse;width:100%}th{text-align:left;width:9em;vertical-align:top;"
    "font-weight:normal;color:#555;padding:.2em .5em .2em 0}td{padding:.2em 0}"
    ".number{text-align:center;color:#555}code{font-family:monospace;word-break:break-all}"
    ".seal{border:1px solid #b22;padding:.5em 1em;margin-top:1.5em}"
)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _local(timestamp: str | None, zone: ZoneInfo) -> str:
    if timestamp is None:
        return "—"
    at = parse_iso(timestamp).astimezone(zone)
    offset = at.strftime("%z")
    return f"{at:%Y-%m-%d %H:%M:%S}（UTC{offset[:3]}:{offset[3:]}）"


def _price_rows(price: LetterPrice) -> list[tuple[str, str]]:
    if price.amount_yuan is not None:
        label, amount = "预算金额", price.amount_yuan
    else:
        label, amount = "最高限价", str(price.ceiling_yuan)
    return [
        ("资金性质", _e(FUNDING_NAMES[price.funding_type])),
        (label, f"人民币 {_e(f'{Decimal(amount):,.2f}')} 元"),
    ]


def _draw_rows(letter: ConfirmationLetter) -> list[tuple[str, str]]:
    if letter.draw is None:
        return [("选取过程", "直接选取，未经抽取")]
    return [
        ("抽取证明", f"<code>{_e(letter.draw.proof_path)}</code>"),
        ("种子承诺值", f"<code>{_e(letter.draw.commitment)}</code>"),
        ("候选名单摘要", f"<code>{_e(letter.draw.digest)}</code>"),
        ("核验方法", "python -m marketplace.verify_draw 抽取证明（任何人可复算）"),
    ]


def _consortium_rows(letter: ConfirmationLetter) -> list[tuple[str, str]]:
    """The consortium's members and parts; nothing for a letter without one (v1 pages unchanged)."""
    if letter.consortium is None:
        return []
    rows = [("联合体牵头方分工", _e(letter.consortium.lead_part or "—"))]
    for member in letter.consortium.members:
        rows.append(
            (
                "联合体成员",
                f"{_e(member.name)}（{_e(member.agency_id)}，统一社会信用代码 {_e(member.credit_code)}）"
                f"：{_e(member.part)}",
            )
        )
    return rows


def _sections(issued: IssuedLetter, zone: ZoneInfo) -> list[tuple[str, list[tuple[str, str]]]]:
    """(heading, rows) in reading order; every value is escaped here (some add markup: <code>)."""
    letter, signature, dates = issued.letter, issued.signature, issued.letter.dates
    return [
        (
            "项目",
            [
                ("项目名称", _e(letter.title)),
                ("项目代码", _e(letter.project_code)),
                ("采购编号", _e(letter.purchase_id)),
            ],
        ),
        (
            "当事人",
            [
                ("项目业主", f"{_e(letter.owner.name)}（{_e(letter.owner.owner_id)}）"),
                ("中选中介机构", f"{_e(letter.agency.name)}（{_e(letter.agency.agency_id)}）"),
                ("统一社会信用代码", _e(letter.agency.credit_code)),
                *_consortium_rows(letter),
            ],
        ),
        (
            "服务事项",
            [
                ("事项名称", _e(letter.item.name)),
                ("事项编码", _e(letter.item.code)),
                ("清单版本", f"第 {_e(letter.item.version)} 版"),
            ],
        ),
        ("选取方式与价格", [("选取方式", _e(METHOD_NAMES[letter.method])), *_price_rows(letter.price)]),
        (
            "时间",
            [
                ("公告发布", _e(_local(dates.published_at, zone))),
                ("报名截止", _e(_local(dates.enrollment_deadline, zone))),
                ("选取结果", _e(_local(dates.selected_at, zone))),
                ("业主确认", _e(_local(dates.owner_confirmed_at, zone))),
                ("机构接受", _e(_local(dates.agency_accepted_at, zone))),
                ("签发", _e(_local(letter.issued_at, zone))),
            ],
        ),
        ("选取过程", _draw_rows(letter)),
        (
            SEAL_HEADING,
            [
                ("签名算法", f"{_e(signature.algorithm)}（{_e(ALGORITHM_NAMES[signature.algorithm])}）"),
                ("密钥标识", f"<code>{_e(signature.key_id)}</code>"),
                ("签名值", f"<code>{_e(signature.value)}</code>"),
                (
                    "核验方法",
                    _e(
                        f"GET /letters/{letter.letter_id} 取得签名文本，以 POST /letters/verify 或 "
                        "python -m marketplace.verify_letter 核验"
                    ),
                ),
            ],
        ),
    ]


def _section(heading: str, rows: list[tuple[str, str]]) -> str:
    html_rows = "".join(f"<tr><th>{label}</th><td>{value}</td></tr>" for label, value in rows)
    block = f"<h2>{heading}</h2><table>{html_rows}</table>"
    # The signature block is framed like a seal (电子签章) on a paper letter.
    return f'<div class="seal">{block}</div>' if heading == SEAL_HEADING else block


def render_html(issued: IssuedLetter, *, timezone: str = "Asia/Shanghai") -> str:
    """The letter as a self-contained page (no scripts, links or external resources); every value
    is escaped. The signed JSON is the letter of record; this page shows it."""
    letter = issued.letter
    sections = "".join(_section(h, rows) for h, rows in _sections(issued, ZoneInfo(timezone)))
    chosen = _e(letter.agency.name)
    if letter.consortium is not None:  # v2: the consortium, its lead named
        members = "、".join(_e(m.name) for m in letter.consortium.members)
        chosen = f"{chosen}（牵头方）与{members}组成的联合体"
    statement = (
        f"经网上中介服务超市{_e(METHOD_NAMES[letter.method])}，{chosen}为项目"
        f"“{_e(letter.title)}”的中选中介服务机构，特此确认。"
    )
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>电子中选确认书 {_e(letter.letter_id)}</title><style>{_STYLE}</style></head>"
        f'<body><main><h1>电子中选确认书</h1><p class="number">编号：{_e(letter.letter_id)}</p>'
        f"<p>{statement}</p>{sections}</main></body></html>\n"
    )
