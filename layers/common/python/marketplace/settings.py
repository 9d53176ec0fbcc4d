"""Every environment-driven setting, read in one place.

The regional rules carry DOMAIN.md's defaults; a deployment or the local stack overrides them with
`RULE_*` environment variables (see README "Regional rules").
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path


def _int(name: str, default: int, minimum: int = 0) -> int:
    """A whole number, at least `minimum`: a rule that cannot hold (a negative number of working
    days) stops the function at start, naming the variable, rather than failing a request later."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise RuntimeError(f"setting {name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise RuntimeError(f"setting {name} must be at least {minimum}, got {value}")
    return value


def _zone(name: str, default: str) -> str:
    """An IANA time zone, checked at start: a misspelt one would fail only at the first deadline."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    value = os.environ.get(name) or default
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise RuntimeError(
            f"setting {name} must be an IANA time zone such as Asia/Shanghai, got {value!r}"
        ) from exc
    return value


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _bool(name: str, default: bool) -> bool:
    """A yes or no: a misspelt value is refused, never read as no (a review could be skipped)."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value not in _TRUE | _FALSE:
        raise RuntimeError(f"setting {name} must be one of {sorted(_TRUE | _FALSE)}, got {raw!r}")
    return value in _TRUE


def _level(name: str, default: str) -> str:
    """A credit level letter (A to D)."""
    value = (os.environ.get(name) or default).strip().upper()
    if value not in ("A", "B", "C", "D"):
        raise RuntimeError(f"setting {name} must be a credit level A, B, C or D, got {value!r}")
    return value


def _percent(name: str, default: int) -> int:
    value = _int(name, default)
    if value > 100:
        raise RuntimeError(f"setting {name} must be a percentage from 0 to 100, got {value}")
    return value


def _ocid_prefix(name: str, default: str) -> str:
    """An OCDS ocid prefix as the Open Contracting Partnership issues them: `ocds-` and six
    lowercase letters or digits."""
    import re

    value = (os.environ.get(name) or default).strip()
    if not re.fullmatch(r"ocds-[a-z0-9]{6}", value):
        raise RuntimeError(f"setting {name} must be an ocid prefix such as ocds-213czf, got {value!r}")
    return value


@dataclass(frozen=True)
class RegionalRules:
    """The rules DOMAIN.md marks *(config)*, with its defaults."""

    agency_review_working_days: int = 2
    enrollment_min_working_days: int = 2
    min_eligible_enrollees: int = 2
    confirmation_working_days: int = 2
    reserves: int = 2
    contract_days: int = 30
    challenge_working_days: int = 7
    challenge_answer_working_days: int = 7
    complaint_working_days: int = 15
    completion_working_days: int = 10  # the owner accepts or disputes a delivery; silence accepts
    private_purchases_need_review: bool = False
    # Fiscal purchases at or above the government procurement threshold belong to the
    # procurement system, not to the marketplace (yuan).
    procurement_threshold_yuan: int = 1_000_000
    certificate_expiry_notice_days: int = 30
    # Trading modes (issue 11). Price bidding: each round after the first, in minutes.
    bidding_round_minutes: int = 10
    # 网上直购: a shelf purchase's amount must be below this (yuan); above it, a competitive method.
    direct_purchase_limit_yuan: int = 50_000
    # 守信激励: below `reward_limit_yuan` an owner may choose directly among the agencies of credit
    # level `reward_level`, for at most `reward_share_percent` of its purchases in a calendar year.
    reward_level: str = "A"
    reward_limit_yuan: int = 100_000
    reward_share_percent: int = 30
    # 方案择优: the panel scores the proposals within this many working days of closing; an
    # unfinished scoring is then reported to the admin (once).
    scoring_working_days: int = 5
    # Statistics (issue 12): GET /statistics reads the last `statistics_default_months` months
    # when no range is given, and at most `statistics_max_months` (docs/statistics.md).
    statistics_default_months: int = 12
    statistics_max_months: int = 24
    # Red flags (docs/red-flags.md, issue 12 red-flags): every threshold, with its reasoning there.
    flag_short_window_hours: int = 72  # R003: an enrollment window shorter than this (hours, calendar time)
    flag_close_price_percent: int = 1  # R024: second-lowest valid quote within this % of the lowest
    flag_unsuccessful_bids: int = (
        10  # R025: this many eligible enrollments without a single win in the window
    )
    flag_late_bid_minutes: int = (
        60  # R030: the winner enrolled or quoted within this many minutes of the deadline
    )
    flag_disqualified_percent: int = 50  # R038: at least this % of the enrollments ineligible at closing...
    flag_disqualified_min_bids: int = 4  # R038: ...among at least this many enrollments
    flag_heterogeneous_items: int = (
        5  # R048: an agency won purchases of this many different items in the window
    )
    flag_price_disparity_percent: int = 100  # R055: the highest valid quote this % above the lowest
    flag_discount_percent: int = 30  # R058: the lowest valid quote this % under the second-lowest
    flag_repeat_direct: int = (
        3  # MK01: the same owner chose the same agency without competition this many times
    )
    flag_reannouncements: int = 2  # MK02: a project re-announced this many times
    flag_same_enrollees: int = 3  # MK03: the same set of eligible enrollees in this many purchases
    flag_handovers: int = (
        2  # MK04: abandonments handed the deal from one agency to the same reserve this many times
    )
    flag_window_days: int = 365  # the cross-purchase flags count what happened in this many days

    @classmethod
    def from_env(cls) -> RegionalRules:
        d = cls()
        return cls(
            agency_review_working_days=_int("RULE_AGENCY_REVIEW_WORKING_DAYS", d.agency_review_working_days),
            enrollment_min_working_days=_int(
                "RULE_ENROLLMENT_MIN_WORKING_DAYS", d.enrollment_min_working_days
            ),
            min_eligible_enrollees=_int("RULE_MIN_ELIGIBLE_ENROLLEES", d.min_eligible_enrollees, minimum=1),
            confirmation_working_days=_int("RULE_CONFIRMATION_WORKING_DAYS", d.confirmation_working_days),
            reserves=_int("RULE_RESERVES", d.reserves),
            contract_days=_int("RULE_CONTRACT_DAYS", d.contract_days),
            challenge_working_days=_int("RULE_CHALLENGE_WORKING_DAYS", d.challenge_working_days),
            challenge_answer_working_days=_int(
                "RULE_CHALLENGE_ANSWER_WORKING_DAYS", d.challenge_answer_working_days
            ),
            complaint_working_days=_int("RULE_COMPLAINT_WORKING_DAYS", d.complaint_working_days),
            completion_working_days=_int("RULE_COMPLETION_WORKING_DAYS", d.completion_working_days),
            private_purchases_need_review=_bool(
                "RULE_PRIVATE_PURCHASES_NEED_REVIEW", d.private_purchases_need_review
            ),
            procurement_threshold_yuan=_int("RULE_PROCUREMENT_THRESHOLD_YUAN", d.procurement_threshold_yuan),
            certificate_expiry_notice_days=_int(
                "RULE_CERTIFICATE_EXPIRY_NOTICE_DAYS", d.certificate_expiry_notice_days
            ),
            bidding_round_minutes=_int("RULE_BIDDING_ROUND_MINUTES", d.bidding_round_minutes, minimum=1),
            direct_purchase_limit_yuan=_int("RULE_DIRECT_PURCHASE_LIMIT_YUAN", d.direct_purchase_limit_yuan),
            reward_level=_level("RULE_REWARD_LEVEL", d.reward_level),
            reward_limit_yuan=_int("RULE_REWARD_LIMIT_YUAN", d.reward_limit_yuan),
            reward_share_percent=_percent("RULE_REWARD_SHARE_PERCENT", d.reward_share_percent),
            scoring_working_days=_int("RULE_SCORING_WORKING_DAYS", d.scoring_working_days, minimum=1),
            statistics_default_months=_int(
                "RULE_STATISTICS_DEFAULT_MONTHS", d.statistics_default_months, minimum=1
            ),
            statistics_max_months=_int("RULE_STATISTICS_MAX_MONTHS", d.statistics_max_months, minimum=1),
            flag_short_window_hours=_int(
                "RULE_FLAG_SHORT_WINDOW_HOURS", d.flag_short_window_hours, minimum=1
            ),
            flag_close_price_percent=_percent("RULE_FLAG_CLOSE_PRICE_PERCENT", d.flag_close_price_percent),
            flag_unsuccessful_bids=_int("RULE_FLAG_UNSUCCESSFUL_BIDS", d.flag_unsuccessful_bids, minimum=1),
            flag_late_bid_minutes=_int("RULE_FLAG_LATE_BID_MINUTES", d.flag_late_bid_minutes),
            flag_disqualified_percent=_percent("RULE_FLAG_DISQUALIFIED_PERCENT", d.flag_disqualified_percent),
            flag_disqualified_min_bids=_int(
                "RULE_FLAG_DISQUALIFIED_MIN_BIDS", d.flag_disqualified_min_bids, minimum=1
            ),
            flag_heterogeneous_items=_int(
                "RULE_FLAG_HETEROGENEOUS_ITEMS", d.flag_heterogeneous_items, minimum=1
            ),
            flag_price_disparity_percent=_int(
                "RULE_FLAG_PRICE_DISPARITY_PERCENT", d.flag_price_disparity_percent
            ),
            flag_discount_percent=_percent("RULE_FLAG_DISCOUNT_PERCENT", d.flag_discount_percent),
            flag_repeat_direct=_int("RULE_FLAG_REPEAT_DIRECT", d.flag_repeat_direct, minimum=1),
            flag_reannouncements=_int("RULE_FLAG_REANNOUNCEMENTS", d.flag_reannouncements, minimum=1),
            flag_same_enrollees=_int("RULE_FLAG_SAME_ENROLLEES", d.flag_same_enrollees, minimum=1),
            flag_handovers=_int("RULE_FLAG_HANDOVERS", d.flag_handovers, minimum=1),
            flag_window_days=_int("RULE_FLAG_WINDOW_DAYS", d.flag_window_days, minimum=1),
        )


@dataclass(frozen=True)
class Settings:
    stage: str = "dev"
    region: str = "cn-north-1"
    table_prefix: str = "marketplace-dev-"
    event_bus_name: str = "marketplace-dev"
    event_source: str = "marketplace"
    # Tokens: the JWKS (https:// in AWS, file:// locally), the issuer and the audience they must carry.
    jwks_url: str = ""
    # Only the local stack and the tests set this: it lets JWKS_URL be a file:// or loopback http://
    # URL. Anywhere else the keys come over https from a named host (marketplace.auth).
    jwks_allow_insecure_local: bool = False
    token_issuer: str = ""
    token_audience: str = ""
    documents_bucket: str = ""
    # The public open-data bucket: the daily OCDS bulk export (JSON lines), readable by anyone.
    open_data_bucket: str = ""
    # OCDS (docs/ocds.md): every ocid is `{ocid_prefix}-{purchase id}`. The default is the example
    # prefix of the standard's documentation; a district registers its own (OCID_PREFIX).
    ocid_prefix: str = "ocds-213czf"
    # The Cognito user pool whose users the platform manages ("" where an external IdP does).
    user_pool_id: str = ""
    # The KMS asymmetric key that signs confirmation letters (its ARN or alias).
    signing_key_id: str = ""
    # The symmetric KMS key sealed quotes and proposals are encrypted under: only the closing tasks'
    # roles may decrypt with it (infra/keys.py sealing_key).
    sealing_key_id: str = ""
    # State machines are named `<stack>-<file name>`: this is the ARN up to the file name.
    state_machine_arn_prefix: str = ""
    timezone: str = "Asia/Shanghai"
    calendar_region: str = "CN"
    idempotency_ttl_hours: int = 24
    log_level: str = "INFO"
    xray_enabled: bool = False
    rules: RegionalRules = field(default_factory=RegionalRules)

    @property
    def calendar_dir(self) -> Path:
        return Path(__file__).parent / "data"

    @classmethod
    def from_env(cls) -> Settings:
        stage = os.environ.get("STAGE", "dev")
        return cls(
            stage=stage,
            region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "cn-north-1",
            table_prefix=os.environ.get("TABLE_PREFIX", f"marketplace-{stage}-"),
            event_bus_name=os.environ.get("EVENT_BUS_NAME", f"marketplace-{stage}"),
            event_source=os.environ.get("EVENT_SOURCE", "marketplace"),
            jwks_url=os.environ.get("JWKS_URL", ""),
            jwks_allow_insecure_local=_bool("JWKS_ALLOW_INSECURE_LOCAL", False),
            token_issuer=os.environ.get("TOKEN_ISSUER", ""),
            token_audience=os.environ.get("TOKEN_AUDIENCE", ""),
            documents_bucket=os.environ.get("DOCUMENTS_BUCKET", ""),
            open_data_bucket=os.environ.get("OPEN_DATA_BUCKET", ""),
            ocid_prefix=_ocid_prefix("OCID_PREFIX", "ocds-213czf"),
            user_pool_id=os.environ.get("USER_POOL_ID", ""),
            signing_key_id=os.environ.get("SIGNING_KEY_ID", ""),
            sealing_key_id=os.environ.get("SEALING_KEY_ID", ""),
            state_machine_arn_prefix=os.environ.get("STATE_MACHINE_ARN_PREFIX", ""),
            timezone=_zone("REGION_TIMEZONE", "Asia/Shanghai"),
            calendar_region=os.environ.get("CALENDAR_REGION", "CN"),
            idempotency_ttl_hours=_int("IDEMPOTENCY_TTL_HOURS", 24, minimum=1),
            log_level=os.environ.get("LOG_LEVEL", "INFO"),
            xray_enabled=_bool("AWS_XRAY_SDK_ENABLED", False),
            rules=RegionalRules.from_env(),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()


def reset_settings() -> None:
    """Forget the cached settings (tests and the local stack change the environment)."""
    get_settings.cache_clear()
