"""The answer of GET /statistics (docs/statistics.md defines every figure) and its query: models
at the edge, in the layer so that the route's package stays small."""

from __future__ import annotations

from pydantic import Field

from marketplace.domain.model import Model, StrictModel

GROUP_BYS = ("item", "industry", "region", "owner", "month")


class StatisticsQuery(StrictModel):
    group_by: str = Field(
        default="month",
        max_length=20,
        description="item | industry | region | owner | month",
        json_schema_extra={"enum": list(GROUP_BYS)},
    )
    from_: str | None = Field(
        default=None,
        alias="from",
        max_length=7,
        description="first month of publication, YYYY-MM (default: the span before `to`)",
    )
    to: str | None = Field(
        default=None, max_length=7, description="last month, YYYY-MM (default: this month)"
    )


class CycleTime(Model):
    purchases: int = Field(description="purchases that reached both ends of the stage")
    working_days_total: int
    mean_working_days: float | None


class Savings(Model):
    purchases: int = Field(description="contracted purchases with a ceiling")
    ceiling_yuan: str
    contract_yuan: str
    savings_yuan: str = Field(description="ceiling minus contract amount, summed")
    savings_percent: float | None = Field(description="savings over the ceilings, in percent")


class RaterFigures(Model):
    evaluations: int
    mean_rating: float | None = Field(description="mean of every 1-5 rating given")


class Evaluations(Model):
    owner: RaterFigures
    regulator: RaterFigures


class Figures(Model):
    value: str = Field(description="the group: an item code, industry, region code, owner id or month")
    published: int
    republished: int
    ended: int
    deals: int
    deal_rate: float | None = Field(description="deals / ended")
    failed: int
    failed_share: float | None = Field(description="failed / ended")
    reannounced: int
    reannounced_share: float | None = Field(description="re-announced / ended")
    cancelled: int
    contracts: int
    completions: int
    enrollments: int
    mean_enrollments: float | None = Field(description="enrollments / published")
    cycle_times: dict[str, CycleTime] = Field(
        description="to_selection, to_confirmation, to_contract, to_completion, total: working days"
    )
    savings: Savings
    evaluations: Evaluations


class StatisticsReport(Model):
    group_by: str
    from_month: str
    to_month: str
    groups: list[Figures]
