"""The confirmation letter: its canonical bytes, its rules, its page, and the offline check of a
signed letter (docs/letters.md)."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError

from marketplace import letter_signatures
from marketplace.domain import letters
from marketplace.domain.letters import ConfirmationLetter, canonical_json, check, envelope_bytes, render_html
from marketplace.verify_letter import main as verify_main
from tests.support.letters import LetterKey, letter, letter_data

# The sample letter's canonical bytes: if this changes, every letter issued before stops verifying.
CANONICAL = (
    '{"agency":{"agency_id":"AG-HZ-001","credit_code":"91330106MA2KD7XL01","name":"浙江地信勘测技术有限公司"},'
    '"dates":{"agency_accepted_at":"2026-03-05T03:30:00Z","enrollment_deadline":"2026-03-04T09:00:00Z",'
    '"owner_confirmed_at":"2026-03-05T02:00:00Z","published_at":"2026-03-02T01:00:00Z",'
    '"selected_at":"2026-03-04T09:05:00Z"},'
    '"draw":{"commitment":"5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592",'
    '"digest":"7d793037a0760186574b0282f2f435e77d793037a0760186574b0282f2f435e7",'
    '"proof_path":"/purchases/P-2026-0001/draw"},"format":"confirmation-letter/v1",'
    '"issued_at":"2026-03-05T03:30:01Z","item":{"code":"ZJ-DZ-001","name":"建设用地地质灾害危险性评估","version":2},'
    '"letter_id":"L-P-2026-0001","method":"random_draw",'
    '"owner":{"name":"杭州市西湖区住房和城乡建设局","owner_id":"OW-HZ-001"},'
    '"price":{"amount_yuan":"86000.00","ceiling_yuan":null,"funding_type":"fiscal"},'
    '"project_code":"2026-330106-04-01-000123","purchase_id":"P-2026-0001",'
    '"title":"西湖区文三路地块建设用地地质灾害危险性评估"}'
).encode()


@pytest.fixture(scope="module")
def key() -> LetterKey:
    return LetterKey.generate()


# --- canonical bytes ---------------------------------------------------------------------------


def test_the_canonical_bytes_of_a_letter_are_exactly_these() -> None:
    assert letter().canonical_bytes() == CANONICAL
    assert hashlib.sha256(CANONICAL).hexdigest() == (
        "336149c1e057df8d04fcc9f57e1b6a2f2fd0ec94b911c43aad53d090cb18e0b3"
    )


def test_the_canonical_bytes_do_not_depend_on_how_the_letter_was_given() -> None:
    data = letter_data()
    shuffled = {k: data[k] for k in reversed(list(data))}
    shuffled["dates"] = {
        **data["dates"],
        "published_at": datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")),  # the same instant
        "selected_at": "2026-03-04T17:05:00+08:00",
    }
    shuffled["price"] = {"funding_type": "fiscal", "amount_yuan": Decimal("86000")}
    assert ConfirmationLetter.model_validate(shuffled).canonical_bytes() == CANONICAL
    assert ConfirmationLetter.model_validate(json.loads(CANONICAL)).canonical_bytes() == CANONICAL


def test_canonical_json_is_sorted_compact_utf8_and_refuses_what_json_cannot_say() -> None:
    assert canonical_json({"b": [1, None], "a": '中"\\'}) == '{"a":"中\\"\\\\","b":[1,null]}'.encode()
    for bad in ({"x": float("nan")}, {"x": "\ud800"}, {"x": object()}):
        with pytest.raises((ValueError, TypeError)):
            canonical_json(bad)


def test_the_stored_envelope_holds_the_signed_bytes_verbatim(key: LetterKey) -> None:
    stored = envelope_bytes(key.issue(letter()))
    assert stored.startswith(b'{"letter":' + CANONICAL + b',"signature":{"algorithm":"ECDSA_SHA_256",')


# --- what a letter may say ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount, stored",
    [("86000", "86000.00"), (86000, "86000.00"), (Decimal("0.5"), "0.50"), ("1234.50", "1234.50")],
)
def test_amounts_are_decimal_strings_with_two_decimals(amount: object, stored: str) -> None:
    price = {"funding_type": "private", "amount_yuan": amount}
    assert letter(price=price).price.amount_yuan == stored


@pytest.mark.parametrize(
    "price",
    [
        {"funding_type": "fiscal", "amount_yuan": 86000.0},  # a float is not exact
        {"funding_type": "fiscal", "amount_yuan": "1.234"},
        {"funding_type": "fiscal", "amount_yuan": "0"},
        {"funding_type": "fiscal", "amount_yuan": "-5"},
        {"funding_type": "fiscal", "amount_yuan": "NaN"},
        {"funding_type": "fiscal", "amount_yuan": True},
        {"funding_type": "fiscal", "amount_yuan": "1000000000000.00"},
        {"funding_type": "fiscal", "amount_yuan": "1.00", "ceiling_yuan": "2.00"},
        {"funding_type": "fiscal"},
        {"funding_type": "mixed", "amount_yuan": "1.00"},
    ],
)
def test_prices_that_are_not_exactly_one_exact_amount_are_refused(price: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        letter(price=price)


def test_a_ceiling_price_is_the_other_form() -> None:
    price = letter(price={"funding_type": "private", "ceiling_yuan": "50000"}).price
    assert (price.amount_yuan, price.ceiling_yuan) == (None, "50000.00")


def test_a_direct_selection_has_no_draw_and_a_drawn_one_needs_its_proof() -> None:
    direct = letter(method="direct", draw=None, dates={**letter_data()["dates"], "enrollment_deadline": None})
    assert direct.draw is None
    with pytest.raises(ValidationError, match="draw is required"):
        letter(draw=None)
    with pytest.raises(ValidationError, match="draw is required"):
        letter(method="direct")
    with pytest.raises(ValidationError, match="enrollment_deadline is required"):
        letter(dates={**letter_data()["dates"], "enrollment_deadline": None})
    with pytest.raises(ValidationError, match="proof_path must be /purchases/P-2026-0001/draw"):
        letter(draw={**letter_data()["draw"], "proof_path": "/purchases/P-OTHER/draw"})


@pytest.mark.parametrize(
    "changes",
    [
        {"letter_id": "public-key"},
        {"letter_id": "../etc"},
        {"letter_id": "L/1"},
        {"title": "标题\u0000"},
        {"title": "标\x85题"},
        {"owner": {"owner_id": "OW-1", "name": "名\ud800"}},
        {"agency": {"agency_id": "AG-1", "name": "x", "credit_code": "91330106MA2KD7XL02"}},
        {"item": {"code": "ZJ-DZ-001", "name": "x", "version": 0}},
        {"dates": {**letter_data()["dates"], "selected_at": "2026-03-04T09:05:00"}},  # no time zone
        {"format": "confirmation-letter/v2"},
        {"colour": "red"},
    ],
)
def test_letters_that_break_a_rule_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        letter(**changes)


def _longest(name: str) -> ConfirmationLetter:
    return letter(
        letter_id="L" * 80,
        purchase_id="P" * 64,
        project_code="C" * 64,
        title=name,
        owner={"owner_id": "O" * 64, "name": name},
        agency={"agency_id": "A" * 64, "name": name, "credit_code": "91330106MA2KD7XL01"},
        item={"code": "Z" * 40, "name": name, "version": 1_000_000},
        price={"funding_type": "private", "ceiling_yuan": "999999999999.99"},
        draw={"proof_path": f"/purchases/{'P' * 64}/draw", "commitment": "f" * 64, "digest": "e" * 64},
    )


def test_the_longest_letter_of_ordinary_text_fits_what_kms_signs_and_a_longer_one_is_refused() -> None:
    assert len(_longest("鑫" * 200).canonical_bytes()) <= letters.MAX_CANONICAL_BYTES
    with pytest.raises(ValidationError, match="KMS signs at most 4096"):
        _longest("𠀀" * 200)  # four bytes each in UTF-8


# --- the page ----------------------------------------------------------------------------------


def test_the_page_shows_the_letter_in_chinese_with_its_seal(key: LetterKey) -> None:
    issued = key.issue(letter())
    page = render_html(issued)
    for text in (
        "<title>电子中选确认书 L-P-2026-0001</title>",
        "浙江地信勘测技术有限公司",
        "91330106MA2KD7XL01",
        "建设用地地质灾害危险性评估",
        "第 2 版",
        "随机选取",
        "财政资金",
        "人民币 86,000.00 元",
        "2026-03-05 11:30:01（UTC+08:00）",  # issued_at in Beijing time
        "/purchases/P-2026-0001/draw",
        "ECDSA_SHA_256",
        key.key_id,
        issued.signature.value,
    ):
        assert text in page, text
    assert "<script" not in page and "src=" not in page and "href=" not in page


def test_everything_on_the_page_is_escaped(key: LetterKey) -> None:
    hostile = "<script>alert('x')</script>&\"<img src=x onerror=y>"
    page = render_html(
        key.issue(
            letter(
                title=hostile,
                owner={"owner_id": "OW-1", "name": hostile},
                item={"code": "ZJ-DZ-001", "name": hostile, "version": 1},
            )
        )
    )
    assert "<script" not in page and "<img" not in page
    escaped = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;&quot;&lt;img src=x onerror=y&gt;"
    assert page.count(escaped) >= 4  # the title twice, the owner, the item


def test_a_direct_selection_page_says_there_was_no_draw(key: LetterKey) -> None:
    direct = letter(method="direct", draw=None, price={"funding_type": "private", "ceiling_yuan": "12000"})
    page = render_html(key.issue(direct))
    assert "直接选取，未经抽取" in page and "最高限价" in page and "自有资金" in page


# --- the check ---------------------------------------------------------------------------------


def test_a_letter_signed_by_the_key_is_valid(key: LetterKey) -> None:
    assert check(key.envelope(letter()), key.public(), key_id=key.key_id) == []
    assert check(key.envelope(letter()), key.public()) == []  # a key from a PEM file has no id


def _spans(stored: bytes) -> list[int]:
    """Every byte position of the letter member and of the signature value in a stored envelope."""
    start = len(b'{"letter":')
    value = stored.rindex(b'"value":"') + len(b'"value":"')
    return [*range(start, start + len(CANONICAL)), *range(value, len(stored) - 2)]


def test_any_single_changed_byte_of_a_signed_letter_is_rejected(key: LetterKey) -> None:
    stored = envelope_bytes(key.issue(letter()))
    checked = 0
    for position in _spans(stored):
        for mask in (0x01, 0x20) if position % 7 == 0 else (0x01,):
            changed = bytearray(stored)
            changed[position] ^= mask
            try:
                envelope = json.loads(bytes(changed))
            except ValueError:
                continue  # no longer JSON (or UTF-8): not a letter at all
            assert check(envelope, key.public(), key_id=key.key_id), (
                position,
                bytes(changed[position : position + 1]),
            )
            checked += 1
    assert checked > len(CANONICAL) // 2  # most changes still parse: they were really checked


def test_the_problems_say_what_is_wrong(key: LetterKey) -> None:
    good = key.envelope(letter())
    other = LetterKey.generate()

    def problems(envelope: object, **kw: str) -> str:
        return " | ".join(check(envelope, key.public(), key_id=kw.get("key_id", key.key_id)))

    assert "algorithm" in problems(
        {**good, "signature": {**good["signature"], "algorithm": "RSASSA_PSS_SHA_256"}}
    )
    assert "not with the published key" in problems(good, key_id="arn:other")
    assert "not canonical base64" in problems({**good, "signature": {**good["signature"], "value": "***"}})
    by_other = other.envelope(letter())
    by_other["signature"]["key_id"] = key.key_id  # claims the platform's key, signed with another
    assert "does not match" in problems(by_other)
    assert "unexpected fields" in problems({**good, "extra": 1})
    assert "unexpected fields in the signature" in problems(
        {**good, "signature": {**good["signature"], "x": 1}}
    )
    assert "JSON object" in problems([good])
    assert "letter object" in problems({"letter": "x", "signature": good["signature"]})
    changed = json.loads(json.dumps(good))
    changed["letter"]["price"]["amount_yuan"] = "96000.00"
    assert problems(changed) == (
        "the signature does not match the letter: changed after signing, or signed by another key"
    )


def test_a_signature_spelled_with_other_base64_padding_bits_is_refused(key: LetterKey) -> None:
    """Base64 leaves unused bits before `=` padding: one signature, several spellings. Only the
    platform's spelling passes, so every changed byte of an envelope is caught."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    envelope = key.envelope(letter())
    while not envelope["signature"]["value"].endswith("="):  # a DER signature of 72 bytes needs none
        envelope = key.envelope(letter())
    value = envelope["signature"]["value"].rstrip("=")
    respelled = value[:-1] + alphabet[alphabet.index(value[-1]) ^ 1]
    respelled += "=" * (-len(respelled) % 4)
    assert base64.b64decode(respelled) == base64.b64decode(envelope["signature"]["value"])
    envelope["signature"]["value"] = respelled
    assert check(envelope, key.public(), key_id=key.key_id) == ["signature value is not canonical base64"]


def test_a_signed_letter_that_breaks_the_format_is_still_invalid(key: LetterKey) -> None:
    """Signature checks out, content does not: a letter the platform would never have written."""

    def signed(raw: dict[str, object]) -> dict[str, object]:
        signature = letter_signatures.low_s(key.private.sign(canonical_json(raw), ec.ECDSA(hashes.SHA256())))
        value = base64.b64encode(signature).decode()
        return {
            "letter": raw,
            "signature": {"algorithm": "ECDSA_SHA_256", "key_id": key.key_id, "value": value},
        }

    raw = {**letter_data(), "format": letters.FORMAT}
    raw["price"] = {"funding_type": "fiscal", "amount_yuan": "86000", "ceiling_yuan": None}
    assert check(signed(raw), key.public(), key_id=key.key_id) == [
        "the letter is not in its normalised form (a field differs from how the platform writes it)"
    ]
    problems = check(signed({**raw, "method": "lottery"}), key.public(), key_id=key.key_id)
    assert [p for p in problems if p.startswith("letter.method:")]


# --- the command-line verifier -----------------------------------------------------------------


def test_the_command_line_verifier(
    tmp_path: Path, key: LetterKey, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "letter.json"
    good.write_bytes(envelope_bytes(key.issue(letter())))
    pem = tmp_path / "key.pem"
    pem.write_text(key.pem())
    assert verify_main([str(good), "--public-key", str(pem)]) == 0
    assert capsys.readouterr().out.startswith("valid: confirmation letter L-P-2026-0001")

    tampered = tmp_path / "tampered.json"
    tampered.write_bytes(good.read_bytes().replace("浙江地信".encode(), "浙江天信".encode()))
    assert verify_main([str(tampered), "--public-key", str(pem)]) == 1
    assert "INVALID" in capsys.readouterr().out

    published = tmp_path / "public-key.json"
    published.write_text(json.dumps({"key_id": "arn:another", "public_key_pem": key.pem()}))
    assert verify_main([str(good), "--key-url", str(published)]) == 1
    assert "not with the published key" in capsys.readouterr().out


def test_the_command_line_verifier_refuses_what_it_cannot_read(tmp_path: Path, key: LetterKey) -> None:
    pem = tmp_path / "key.pem"
    pem.write_text(key.pem())
    repeated = tmp_path / "repeated.json"
    stored = envelope_bytes(key.issue(letter())).decode()
    repeated.write_text(stored.replace('{"letter":', '{"letter":{"title":"假的"},"letter":', 1))
    assert verify_main([str(repeated), "--public-key", str(pem)]) == 2  # two readers, two letters
    assert verify_main([str(tmp_path / "missing.json"), "--public-key", str(pem)]) == 2
    good = tmp_path / "letter.json"
    good.write_text(stored)
    assert verify_main([str(good)]) == 2  # a file names no key
    assert verify_main([str(good), "--public-key", str(good)]) == 2  # not a PEM


def test_a_letter_fetched_from_the_api_takes_its_key_from_beside_it() -> None:
    from marketplace.verify_letter import _key_url

    assert _key_url("https://api.example.gov.cn/v1/letters/L-P-2026-0001") == (
        "https://api.example.gov.cn/v1/letters/public-key"
    )
    assert _key_url("https://example.gov.cn/files/L-P-2026-0001.json") is None
    assert _key_url("letters/L-P-2026-0001") is None  # a file names its key itself
