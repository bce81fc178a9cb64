"""The goal plan as a pydantic model: field types, sections, and helpers about the plan itself.

Validators here check what one key or one section can tell; checks across the file live in
``reading``, checks against Kolada in ``validation``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    model_validator,
)

from transforms.rules import (
    BETTER_OPERATOR,
    DEFAULT_MET_SHARE,
    DEFAULT_MIN_COVERAGE,
    DEFAULT_PARTLY_SHARE,
)

FIRST_PLAUSIBLE_YEAR = 1970  # Kolada's oldest series
LAST_PLAUSIBLE_YEAR = 2100

Direction = Literal["higher", "lower", "none"]
Operator = Literal[">=", "<=", ">", "<"]
Reference = Literal["riket", "county", "peers"]
Colour = Literal["green", "yellow"]


class GoalPlanError(ValueError):
    """A goal plan that cannot be used; one line per problem, each naming file and key."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


# --- field types -------------------------------------------------------------------------


def _matching(pattern: str, example: str) -> AfterValidator:
    regex = re.compile(pattern)

    def check(value: str) -> str:
        if not regex.fullmatch(value):
            raise ValueError(f"must look like {example}")
        return value

    return AfterValidator(check)


def _area_code(value: Any) -> Any:
    # An unquoted 1480 is an int to YAML; four digits are still clearly an area code.
    if isinstance(value, int) and not isinstance(value, bool) and 1000 <= value <= 9999:
        return str(value)
    if isinstance(value, int):
        raise ValueError('must be a quoted four-digit code such as "0115"')
    return value


def _code_text(value: Any) -> Any:
    # Codes such as Kon: 1 are numbers to YAML; an id written as 36403 then fails its
    # pattern with a clear message instead of "should be a string".
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _plausible_year(value: int) -> int:
    if not FIRST_PLAUSIBLE_YEAR <= value <= LAST_PLAUSIBLE_YEAR:
        raise ValueError(f"is not a year between {FIRST_PLAUSIBLE_YEAR} and {LAST_PLAUSIBLE_YEAR}")
    return value


def _year_span(value: Any) -> Any:
    """Accept 2024-2026, 2024 or {from: 2024, to: 2026}; return (first, last)."""
    if isinstance(value, bool):
        raise ValueError("must be a span such as 2024-2026")
    if isinstance(value, int):
        first, last = value, value
    elif isinstance(value, str):
        match = re.fullmatch(r"\s*(\d{4})\s*[-–]\s*(\d{4})\s*", value)
        if not match:
            raise ValueError("must be a span such as 2024-2026")
        first, last = int(match[1]), int(match[2])
    elif isinstance(value, dict):
        if set(value) != {"from", "to"} or not all(type(v) is int for v in value.values()):
            raise ValueError("must be {from: <year>, to: <year>}")
        first, last = value["from"], value["to"]
    elif isinstance(value, list | tuple) and len(value) == 2:
        first, last = value
    else:
        raise ValueError("must be a span such as 2024-2026")
    for year in (first, last):
        _plausible_year(year)
    if first > last:
        raise ValueError(f"starts after it ends ({first} > {last})")
    return (first, last)


def _non_empty(items: list[Any]) -> list[Any]:
    if not items:
        raise ValueError("must list at least one entry")
    return items


Text = Annotated[str, Field(min_length=1)]
Slug = Annotated[str, _matching(r"[a-z0-9]+(?:-[a-z0-9]+)*", "'hog-kvalitet' (a-z, 0-9, -)")]
AreaId = Annotated[str, BeforeValidator(_area_code), _matching(r"\d{4}", '"0115"')]
GroupId = Annotated[str, BeforeValidator(_code_text), _matching(r"G\d+", "G37571")]
KpiId = Annotated[str, BeforeValidator(_code_text), _matching(r"[NU]\d{5}", "N15507 or U21468")]
SeriesId = Annotated[
    str, _matching(r"[a-z][a-z0-9]*:[a-z0-9][a-z0-9_]*", "scb:population (source:name)")
]
IndicatorId = Annotated[str, _matching(r"[A-Za-z0-9][A-Za-z0-9_:.-]*", "N15507 or trygg-skola")]
TableId = Annotated[str, BeforeValidator(_code_text), _matching(r"TAB\d+", "TAB638")]
Year = Annotated[int, AfterValidator(_plausible_year)]
YearSpan = Annotated[tuple[int, int], BeforeValidator(_year_span)]
ScbCode = Annotated[str, BeforeValidator(_code_text)]
# A number as YAML writes it: `true` or a quoted "5" is a slip, not 1.0 or 5.0.
Number = Annotated[float, Field(strict=True)]


class _Strict(BaseModel):
    # YAML reads .inf and .nan as floats; no threshold, share or target can be one.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


# --- the plan ----------------------------------------------------------------------------


class PlanHeader(_Strict):
    id: Slug
    title: Text
    vision: str | None = None
    municipality: AreaId
    county: AreaId | None = None
    years: YearSpan
    note: str | None = None


class Comparisons(_Strict):
    group: GroupId


class StatusRules(_Strict):
    """Shares of an indicator's comparable years that make a goal met or partly met."""

    met_share: Number = DEFAULT_MET_SHARE
    partly_share: Number = DEFAULT_PARTLY_SHARE
    min_coverage: Number = Field(default=DEFAULT_MIN_COVERAGE, gt=0, le=1)

    @model_validator(mode="after")
    def _shares_ordered(self) -> StatusRules:
        if not 0 < self.partly_share <= self.met_share <= 1:
            raise ValueError(
                f"need 0 < partly_share <= met_share <= 1, got partly_share "
                f"{self.partly_share} and met_share {self.met_share}"
            )
        return self


class ScbSegment(_Strict):
    """One SCB table read for a span of years; later segments win where they overlap."""

    table: TableId
    content: Text
    select: dict[str, ScbCode] = Field(default_factory=dict)
    from_year: Year | None = None
    to_year: Year | None = None
    unverified: bool = False
    # Only for a table whose metadata does not tell its region, time, content or sex
    # variable (transforms.scb.table_roles reads them from the JSON-stat roles and labels).
    variables: dict[Literal["region", "time", "content", "sex"], str] | None = None

    @model_validator(mode="after")
    def _years_ordered(self) -> ScbSegment:
        if self.from_year and self.to_year and self.from_year > self.to_year:
            raise ValueError(f"from_year {self.from_year} is after to_year {self.to_year}")
        return self


class Derived(_Strict):
    """A series computed from other declared series."""

    formula: Literal["pct_change", "per_1000"]
    of: SeriesId | None = None
    numerator: SeriesId | None = None
    denominator: SeriesId | None = None

    @model_validator(mode="after")
    def _inputs_match_formula(self) -> Derived:
        given = {k for k in ("of", "numerator", "denominator") if getattr(self, k) is not None}
        needed = {"of"} if self.formula == "pct_change" else {"numerator", "denominator"}
        if given != needed:
            raise ValueError(
                f"formula {self.formula} takes {' and '.join(sorted(needed))}, "
                f"got {', '.join(sorted(given)) or 'nothing'}"
            )
        return self

    def inputs(self) -> list[str]:
        """The series this one is computed from."""
        return [s for s in (self.of, self.numerator, self.denominator) if s is not None]


class SeriesSpec(_Strict):
    title: str | None = None
    unit: str | None = None
    scb: Annotated[list[ScbSegment], AfterValidator(_non_empty)] | None = None
    derived: Derived | None = None
    # The municipality's own measurements: a CSV or .xlsx file, relative to the plan file.
    file: Annotated[str, Field(min_length=1, pattern=r"(?i).+\.(csv|xlsx)$")] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SeriesSpec:
        given = [key for key in ("scb", "derived", "file") if getattr(self, key) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of scb, derived or file (got {', '.join(given) or 'none'})"
            )
        return self

    @property
    def source(self) -> Literal["scb", "derived", "own"]:
        if self.scb is not None:
            return "scb"
        return "derived" if self.derived is not None else "own"


class Target(_Strict):
    value: Number | None = None
    op: Operator | None = None
    compare: Reference | None = None
    rank: Annotated[int, Field(strict=True, ge=1)] | None = None  # 2.0 or true is no rank
    colour: Colour | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Target:
        forms = [k for k in ("value", "compare", "rank", "colour") if getattr(self, k) is not None]
        if len(forms) != 1:
            got = ", ".join(forms) or "none"
            raise ValueError(f"give exactly one of value, compare, rank, colour (got {got})")
        if self.op is not None and self.kind not in ("value", "compare"):
            raise ValueError(f"op goes with value or compare, not with {self.kind}")
        return self

    @property
    def kind(self) -> Literal["value", "compare", "rank", "colour"]:
        if self.value is not None:
            return "value"
        if self.compare is not None:
            return "compare"
        return "rank" if self.rank is not None else "colour"


class Indicator(_Strict):
    kpi: KpiId | None = None
    series: SeriesId | None = None
    id: IndicatorId | None = None
    title: str | None = None
    direction: Direction
    compare_with: GroupId | None = None
    from_year: Year | None = None
    target: Target | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Indicator:
        if (self.kpi is None) == (self.series is None):
            raise ValueError("give exactly one of kpi or series")
        target = self.target
        if target is None:
            return self
        if self.direction == "none":
            if target.kind in ("value", "compare") and target.op is None:
                raise ValueError(
                    f"target {_show(_given(target))} needs op (>=, <=, >, <) when direction is none"
                )
            if target.kind in ("rank", "colour"):
                raise ValueError(f"target {target.kind} needs direction higher or lower, not none")
        elif target.op is not None and target.op[0] != BETTER_OPERATOR[self.direction][0]:
            raise ValueError(f"target op '{target.op}' contradicts direction {self.direction}")
        return self

    @property
    def indicator_id(self) -> str:
        """The id the plan's rows use: ``id`` or else the kpi or series id."""
        return self.id or self.kpi or self.series or ""

    @property
    def series_id(self) -> str:
        """The observation series: the KPI id or the plan's series id."""
        return self.kpi or self.series or ""


class Goal(_Strict):
    id: Slug
    title: Text
    description: str | None = None
    indicators: Annotated[list[Indicator], AfterValidator(_non_empty)]


class GoalPlan(_Strict):
    plan: PlanHeader
    comparisons: Comparisons | None = None
    status: StatusRules = Field(default_factory=StatusRules)
    series: dict[SeriesId, SeriesSpec] = Field(default_factory=dict)
    goals: Annotated[list[Goal], AfterValidator(_non_empty)]

    _source: str = PrivateAttr(default="<goal plan>")

    @property
    def source(self) -> str:
        """The file the plan was read from, as errors name it."""
        return self._source

    @property
    def id(self) -> str:
        return self.plan.id

    @property
    def municipality(self) -> str:
        return self.plan.municipality

    @property
    def county(self) -> str | None:
        return self.plan.county

    @property
    def years(self) -> tuple[int, int]:
        return self.plan.years

    @property
    def default_group(self) -> str | None:
        return self.comparisons.group if self.comparisons else None

    def indicators(self) -> Iterator[PlacedIndicator]:
        """Every indicator with its goal and 1-based position, in file order."""
        for goal in self.goals:
            for position, indicator in enumerate(goal.indicators, start=1):
                yield PlacedIndicator(goal, position, indicator)

    def fetch_years(self, years_override: tuple[int, int] | None = None) -> range:
        """The override's years exactly, else the plan's years and the year before them
        (the baseline for change from the previous year)."""
        if years_override is not None:
            return range(years_override[0], years_override[1] + 1)
        first, last = self.plan.years
        return range(first - 1, last + 1)

    @property
    def baseline_year(self) -> int:
        """The year before the plan's first: fetched only for change from the previous year."""
        return self.plan.years[0] - 1

    def fetched_series_ids(self) -> list[str]:
        """Every series a refresh fetches: the KPIs and the declared non-derived series."""
        declared = [sid for sid, spec in self.series.items() if spec.derived is None]
        return plan_kpi_ids(self) + declared


@dataclass(frozen=True)
class PlacedIndicator:
    """An indicator with the goal it belongs to and its 1-based position there."""

    goal: Goal
    position: int
    indicator: Indicator

    def where(self, source: str) -> str:
        """'file: goal 'g', indicator 3 (N15507)' as errors begin."""
        return (
            f"{source}: goal '{self.goal.id}', indicator {self.position} "
            f"({self.indicator.indicator_id})"
        )


# --- values as error messages quote them -------------------------------------------------
# Shared by the validators above and by reading's wording of pydantic's errors.


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, dict | list):
        return str(yaml.safe_dump(value, default_flow_style=True, allow_unicode=True)).strip()
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _given(model: BaseModel) -> dict[str, Any]:
    """The keys a writer gave, with 0.0 shown as the 0 they wrote."""
    return {
        key: int(value) if isinstance(value, float) and value.is_integer() else value
        for key, value in model.model_dump(exclude_none=True).items()
    }


# --- which ids and series a plan uses ----------------------------------------------------


def plan_kpi_ids(plan: GoalPlan) -> list[str]:
    """The Kolada KPI ids the plan uses, once each, in file order."""
    ids = (placed.indicator.kpi for placed in plan.indicators())
    return list(dict.fromkeys(kpi for kpi in ids if kpi is not None))


def plan_series_ids(plan: GoalPlan) -> list[str]:
    """The plan's declared SCB and derived series, inputs before what is derived from them."""
    ordered: dict[str, None] = {}

    def add(series_id: str) -> None:
        spec = plan.series[series_id]
        for ref in spec.derived.inputs() if spec.derived else []:
            add(ref)
        ordered.setdefault(series_id, None)

    for series_id in plan.series:
        add(series_id)
    return list(ordered)
