"""Goal plans: the YAML a municipality writes, parsed, checked and shaped for the warehouse.

``parse_goal_plan`` checks everything the file alone can tell (shape, ranges, references
between its own goals and series); ``validate_goal_plan`` checks its ids against the Kolada
catalogue. SCB series specs (``GoalPlan.series``) are checked against SCB table metadata
by the code that fetches that metadata. Every error names the file, the goal and
indicator (or series), the key and the bad value; docs/goal-plans.md explains the format.
"""

from __future__ import annotations

import difflib
import json
import re
import types
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import polars as pl
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from transforms.catalogue import RIKET_ID, Catalogue

FIRST_PLAUSIBLE_YEAR = 1970  # Kolada's oldest series
LAST_PLAUSIBLE_YEAR = 2100

DEFAULT_MET_SHARE = 2 / 3
DEFAULT_PARTLY_SHARE = 1 / 3
DEFAULT_MIN_COVERAGE = 0.5

SCB_ATTRIBUTION = "Källa: SCB"
# Kolada's and SCB's terms forbid passing our arithmetic off as theirs.
DERIVED_ATTRIBUTION = "Egen beräkning (malbild) på data från SCB"

Direction = Literal["higher", "lower", "none"]
Operator = Literal[">=", "<=", ">", "<"]
Reference = Literal["riket", "county", "peers"]
Colour = Literal["green", "yellow"]

BETTER_OPERATOR: dict[str, str] = {"higher": ">=", "lower": "<="}
REFERENCE_TEXT = {"riket": "riket", "county": "länet", "peers": "liknande kommuner"}
COLOUR_TEXT = {"green": "grön", "yellow": "gul eller grön"}


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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


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

    met_share: float = DEFAULT_MET_SHARE
    partly_share: float = DEFAULT_PARTLY_SHARE
    min_coverage: float = Field(default=DEFAULT_MIN_COVERAGE, gt=0, le=1)

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

    @model_validator(mode="after")
    def _one_source(self) -> SeriesSpec:
        if (self.scb is None) == (self.derived is None):
            raise ValueError("give exactly one of scb or derived")
        return self

    @property
    def source(self) -> Literal["scb", "derived"]:
        return "scb" if self.scb is not None else "derived"


class Target(_Strict):
    value: float | None = None
    op: Operator | None = None
    compare: Reference | None = None
    rank: int | None = Field(default=None, ge=1)
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
        """The plan's years (or the override) plus the year before, as a baseline."""
        first, last = years_override or self.plan.years
        return range(first - 1, last + 1)


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


# --- parsing -----------------------------------------------------------------------------


class _PlanLoader(yaml.SafeLoader):
    """Safe YAML that refuses duplicate keys and keeps zero-padded codes ("0115") as text."""


def _construct_mapping(loader: _PlanLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise yaml.MarkedYAMLError(
                problem=f"duplicate key '{key}'", problem_mark=key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


def _construct_int(loader: _PlanLoader, node: yaml.ScalarNode) -> int | str:
    # YAML 1.1 reads 0115 as octal 77; in a plan it is always a code.
    if re.fullmatch(r"0\d+", node.value):
        return str(node.value)
    return int(loader.construct_yaml_int(node))


_PlanLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_PlanLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def parse_goal_plan(text: str, source: str) -> GoalPlan:
    """Parse and check a goal plan's YAML; ``source`` names the file in errors."""
    try:
        raw = yaml.load(text, Loader=_PlanLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        line = text.splitlines()[mark.line] if mark and mark.line < len(text.splitlines()) else ""
        # An unquoted ">" starts a folded block in YAML: the commonest slip in a target.
        hint = ' (quote operators: op: ">=")' if re.search(r"op:\s*>", line) else ""
        raise GoalPlanError(f"{source}: not valid YAML: {where}{error.problem}{hint}") from None
    except yaml.YAMLError as error:
        raise GoalPlanError(f"{source}: not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise GoalPlanError(f"{source}: expected a mapping with plan: and goals: at the top")
    try:
        plan = GoalPlan.model_validate(raw)
    except ValidationError as error:
        raise GoalPlanError(
            [_describe_error(source, raw, dict(e)) for e in error.errors()]
        ) from None
    plan._source = source
    problems = _plan_problems(plan)
    if problems:
        raise GoalPlanError(problems)
    return plan


def load_goal_plan(path: str | Path) -> GoalPlan:
    """Read and parse a goal plan file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise GoalPlanError(f"{path}: cannot read the file: {error.strerror}") from None
    return parse_goal_plan(text, str(path))


def _plan_problems(plan: GoalPlan) -> list[str]:
    """Cross references inside the file that single keys cannot show."""
    source = plan.source
    problems: list[str] = []
    first_goal: dict[str, int] = {}
    for number, goal in enumerate(plan.goals, start=1):
        if goal.id in first_goal:
            problems.append(
                f"{source}: goal {number}: id '{goal.id}' is already used by goal "
                f"{first_goal[goal.id]}"
            )
        first_goal.setdefault(goal.id, number)

    first_use: dict[str, PlacedIndicator] = {}
    for placed in plan.indicators():
        indicator, where = placed.indicator, placed.where(source)
        earlier = first_use.setdefault(indicator.indicator_id, placed)
        if earlier is not placed:
            problems.append(
                f"{where}: id '{indicator.indicator_id}' is already used by goal "
                f"'{earlier.goal.id}', indicator {earlier.position}; set id: to tell them apart"
            )
        if indicator.series and indicator.series not in plan.series:
            problems.append(f"{where}: series '{indicator.series}' is not declared under series:")
        compare = indicator.target.compare if indicator.target else None
        if compare == "county" and plan.plan.county is None:
            problems.append(f"{where}: target compare 'county' needs a county: under plan:")
        if compare == "peers" and not (indicator.compare_with or plan.default_group):
            problems.append(
                f"{where}: target compare 'peers' needs compare_with: "
                "or a group: under comparisons:"
            )

    for series_id, spec in plan.series.items():
        for name in ("of", "numerator", "denominator"):
            ref = getattr(spec.derived, name, None)
            if ref is not None and ref not in plan.series:
                problems.append(
                    f"{source}: series '{series_id}': derived.{name} '{ref}' is not declared "
                    "under series:"
                )
    cycle = _derived_cycle(plan.series)
    if cycle:
        problems.append(
            f"{source}: series '{cycle[0]}': derived series form a cycle: " + " -> ".join(cycle)
        )
    return problems


def _derived_cycle(series: dict[str, SeriesSpec]) -> list[str] | None:
    inputs = {sid: spec.derived.inputs() if spec.derived else [] for sid, spec in series.items()}
    done: set[str] = set()

    def visit(sid: str, path: list[str]) -> list[str] | None:
        if sid in path:
            return [*path[path.index(sid) :], sid]
        if sid in done or sid not in inputs:
            return None
        for ref in inputs[sid]:
            found = visit(ref, [*path, sid])
            if found:
                return found
        done.add(sid)
        return None

    for sid in inputs:
        found = visit(sid, [])
        if found:
            return found
    return None


# --- turning pydantic's errors into plan-writer language ----------------------------------


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, dict | list):
        return str(yaml.safe_dump(value, default_flow_style=True, allow_unicode=True)).strip()
    if value is None:
        return "null"
    return str(value)


def _given(model: BaseModel) -> dict[str, Any]:
    """The keys a writer gave, with 0.0 shown as the 0 they wrote."""
    return {
        key: int(value) if isinstance(value, float) and value.is_integer() else value
        for key, value in model.model_dump(exclude_none=True).items()
    }


def _item(container: Any, key: Any) -> Any:
    try:
        return container[key]
    except (KeyError, IndexError, TypeError):
        return None


def _describe_error(source: str, raw: dict[str, Any], error: dict[str, Any]) -> str:
    loc = list(error["loc"])
    if loc and loc[-1] == "[key]":  # a bad mapping key, e.g. a series id
        section = ".".join(str(part) for part in loc[:-2])
        return f"{source}: {section}: id {_error_text(error, '')}"
    context, rest = _error_context(raw, loc)
    key = ".".join(str(part) for part in rest)
    if error["type"] == "extra_forbidden":
        message = f"unknown key '{key}'{_key_hint(loc)}"
    else:
        message = _error_text(error, key)
    return f"{source}: {context}: {message}" if context else f"{source}: {message}"


def _error_context(raw: dict[str, Any], loc: list[Any]) -> tuple[str, list[Any]]:
    """Split a pydantic location into "goal 'x', indicator 3 (N15507)" and the key path."""
    if len(loc) >= 2 and loc[0] == "goals" and isinstance(loc[1], int):
        goal = _item(_item(raw, "goals"), loc[1])
        goal_id = _item(goal, "id")
        parts = [f"goal '{goal_id}'" if isinstance(goal_id, str) else f"goal {loc[1] + 1}"]
        rest = loc[2:]
        if len(rest) >= 2 and rest[0] == "indicators" and isinstance(rest[1], int):
            raw_indicator = _item(_item(goal, "indicators"), rest[1])
            label = next(
                (
                    v
                    for k in ("id", "kpi", "series")
                    if isinstance(v := _item(raw_indicator, k), str)
                ),
                None,
            )
            parts.append(f"indicator {rest[1] + 1}" + (f" ({label})" if label else ""))
            rest = rest[2:]
        return ", ".join(parts), rest
    if len(loc) >= 2 and loc[0] == "series" and loc[-1] != "[key]":
        parts = [f"series '{loc[1]}'"]
        rest = loc[2:]
        if len(rest) >= 2 and rest[0] == "scb" and isinstance(rest[1], int):
            parts.append(f"segment {rest[1] + 1}")
            rest = rest[2:]
        return ", ".join(parts), rest
    if len(loc) >= 2 and loc[0] in ("plan", "comparisons", "status"):
        return str(loc[0]), loc[1:]
    return "", loc


def _error_text(error: dict[str, Any], key: str) -> str:
    kind, value = error["type"], error.get("input")
    if kind == "missing":
        return f"missing key '{key}'"
    if kind == "literal_error":
        allowed = ", ".join(re.findall(r"'([^']*)'", error.get("ctx", {}).get("expected", "")))
        return f"{key} {_show(value)} is not one of {allowed}"
    if kind == "value_error":
        text = str(error["ctx"]["error"])
    else:
        text = error["msg"][0].lower() + error["msg"][1:]
    if isinstance(value, dict):
        # A whole section failed a rule between its keys; the text names them.
        return f"{key} {_show(value)}: {text}" if key else text
    subject = f"{key} {_show(value)}" if key else _show(value)
    return f"{subject} {text}" if kind == "value_error" else f"{subject}: {text}"


def _key_hint(loc: list[Any]) -> str:
    model = _model_at(loc[:-1])
    if model is None:
        return ""
    allowed = list(model.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    if close:
        return f" (did you mean '{close[0]}'?)"
    return f" (allowed: {', '.join(allowed)})"


def _model_at(loc: list[Any]) -> type[BaseModel] | None:
    current: Any = GoalPlan
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part) if isinstance(part, str) else None
            if field is None:
                return None
            current = field.annotation
        elif get_origin(current) is list:
            current = get_args(current)[0]
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        else:
            return annotation


# --- checks against the Kolada catalogue --------------------------------------------------


NOT_A_GROUP = "is not a Kolada municipality group"


def validate_goal_plan(plan: GoalPlan, catalogue: Catalogue) -> None:
    """Check the plan's KPI, area and group ids against Kolada; raise with every problem."""
    source = plan.source
    kpi_types = dict(zip(catalogue.kpis["id"], catalogue.kpis["municipality_type"], strict=True))
    area_types = dict(
        zip(catalogue.municipalities["id"], catalogue.municipalities["type"], strict=True)
    )
    groups = set(catalogue.groups["id"])
    problems: list[str] = []

    municipality = plan.municipality
    focus_type = area_types.get(municipality)
    if focus_type is None:
        problems.append(
            f"{source}: plan: municipality '{municipality}' is not a Kolada municipality or region"
        )
    county = plan.county
    if county is not None and (area_types.get(county) != "L" or county == RIKET_ID):
        problems.append(
            f"{source}: plan: county '{county}' is not a Kolada region (type L, not Riket 0000)"
        )
    if plan.default_group is not None and plan.default_group not in groups:
        problems.append(f"{source}: comparisons: group '{plan.default_group}' {NOT_A_GROUP}")

    for placed in plan.indicators():
        indicator, where = placed.indicator, placed.where(source)
        if indicator.kpi is not None:
            kpi_type = kpi_types.get(indicator.kpi)
            if kpi_type is None:
                problems.append(f"{where}: kpi '{indicator.kpi}' is not in the Kolada catalogue")
            elif not _kpi_covers(kpi_type, municipality, focus_type):
                only, focus = ("regions", "kommun") if kpi_type == "L" else ("kommuner", "region")
                problems.append(
                    f"{where}: kpi '{indicator.kpi}' is published for {only} only, but "
                    f"municipality '{municipality}' is a {focus}"
                )
        if indicator.compare_with is not None and indicator.compare_with not in groups:
            problems.append(f"{where}: compare_with '{indicator.compare_with}' {NOT_A_GROUP}")
    if problems:
        raise GoalPlanError(problems)


def _kpi_covers(kpi_type: str, municipality: str, area_type: str | None) -> bool:
    """Whether Kolada publishes a KPI of this type (K, L, A) for the area."""
    # Riket has values for kommun and region KPIs alike; an unknown area is reported above.
    return kpi_type == "A" or municipality == RIKET_ID or area_type in (None, kpi_type)


# --- rows for the warehouse ---------------------------------------------------------------

GOAL_PLAN_SCHEMA: dict[str, pl.DataType] = {
    "plan_id": pl.String(),
    "title": pl.String(),
    "vision": pl.String(),
    "municipality_id": pl.String(),
    "county_id": pl.String(),
    "first_year": pl.Int32(),
    "last_year": pl.Int32(),
    "default_group_id": pl.String(),
    "status_met_share": pl.Float64(),
    "status_partly_share": pl.Float64(),
    "status_min_coverage": pl.Float64(),
    "note": pl.String(),
    "source_file": pl.String(),
    "content_hash": pl.String(),
    "definition": pl.String(),  # JSON text
    "run_id": pl.String(),
    "loaded_at": pl.Datetime("us", "UTC"),
}

GOAL_SCHEMA: dict[str, pl.DataType] = {
    "plan_id": pl.String(),
    "goal_id": pl.String(),
    "position": pl.Int32(),
    "title": pl.String(),
    "description": pl.String(),
}

GOAL_INDICATOR_SCHEMA: dict[str, pl.DataType] = {
    "plan_id": pl.String(),
    "goal_id": pl.String(),
    "indicator_id": pl.String(),
    "position": pl.Int32(),
    "source": pl.String(),
    "series_id": pl.String(),
    "title": pl.String(),
    "direction": pl.String(),
    "comparison_group_id": pl.String(),
    "from_year": pl.Int32(),
    "target_kind": pl.String(),
    "target_operator": pl.String(),
    "target_value": pl.Float64(),
    "target_reference": pl.String(),
    "target_colour": pl.String(),
    "target_text": pl.String(),
    "note": pl.String(),
    "unavailable_reason": pl.String(),
}

SERIES_SCHEMA: dict[str, pl.DataType] = {
    "series_id": pl.String(),
    "source": pl.String(),
    "title": pl.String(),
    "unit": pl.String(),
    "table_ids": pl.List(pl.String()),
    "definition": pl.String(),  # JSON text
    "attribution": pl.String(),
}


def goal_plan_frames(
    plan: GoalPlan,
    *,
    run_id: str,
    source_file: str,
    content_hash: str,
    loaded_at: datetime | None = None,
) -> dict[str, pl.DataFrame]:
    """Rows for core.goal_plan, core.goal, core.goal_indicator and core.series."""
    header, status = plan.plan, plan.status
    goal_plan = {
        "plan_id": header.id,
        "title": header.title,
        "vision": header.vision,
        "municipality_id": header.municipality,
        "county_id": header.county,
        "first_year": header.years[0],
        "last_year": header.years[1],
        "default_group_id": plan.default_group,
        "status_met_share": status.met_share,
        "status_partly_share": status.partly_share,
        "status_min_coverage": status.min_coverage,
        "note": header.note,
        "source_file": source_file,
        "content_hash": content_hash,
        "definition": json.dumps(
            plan.model_dump(mode="json", exclude_none=True), ensure_ascii=False
        ),
        "run_id": run_id,
        "loaded_at": loaded_at or datetime.now(UTC),
    }
    goals = [
        {
            "plan_id": header.id,
            "goal_id": goal.id,
            "position": position,
            "title": goal.title,
            "description": goal.description,
        }
        for position, goal in enumerate(plan.goals, start=1)
    ]
    indicators = [_indicator_row(plan, placed) for placed in plan.indicators()]
    series = [_series_row(plan, series_id) for series_id in plan_series_ids(plan)]
    return {
        "goal_plan": pl.DataFrame([goal_plan], schema=GOAL_PLAN_SCHEMA),
        "goal": pl.DataFrame(goals, schema=GOAL_SCHEMA),
        "goal_indicator": pl.DataFrame(indicators, schema=GOAL_INDICATOR_SCHEMA),
        "series": pl.DataFrame(series, schema=SERIES_SCHEMA),
    }


def _indicator_row(plan: GoalPlan, placed: PlacedIndicator) -> dict[str, Any]:
    indicator = placed.indicator
    spec = plan.series.get(indicator.series) if indicator.series else None
    return {
        "plan_id": plan.plan.id,
        "goal_id": placed.goal.id,
        "indicator_id": indicator.indicator_id,
        "position": placed.position,
        "source": spec.source if spec else "kolada",
        "series_id": indicator.series_id,
        "title": indicator.title or (spec.title if spec else None),
        "direction": None if indicator.direction == "none" else indicator.direction,
        "comparison_group_id": indicator.compare_with or plan.default_group,
        "from_year": indicator.from_year,
        **_target_columns(indicator),
        "note": indicator.note,
        # Filled downstream when the source has no data for the plan's area.
        "unavailable_reason": None,
    }


def _target_columns(indicator: Indicator) -> dict[str, Any]:
    target = indicator.target
    columns: dict[str, Any] = {
        "target_kind": None,
        "target_operator": None,
        "target_value": None,
        "target_reference": None,
        "target_colour": None,
        "target_text": None,
    }
    if target is None:
        return columns
    columns["target_kind"] = target.kind
    # Parsing made sure op is given whenever direction is none.
    operator = target.op or BETTER_OPERATOR.get(indicator.direction)
    if target.kind == "value":
        columns |= {
            "target_operator": operator,
            "target_value": target.value,
            "target_text": f"{operator} {_number_text(target.value)}",
        }
    elif target.kind == "compare":
        columns |= {
            "target_operator": operator,
            "target_reference": target.compare,
            "target_text": f"{operator} {REFERENCE_TEXT[str(target.compare)]}",
        }
    elif target.kind == "rank":
        columns |= {
            "target_operator": "<=",
            "target_value": float(target.rank or 0),
            "target_text": f"rank <= {target.rank}",
        }
    else:
        columns |= {
            "target_colour": target.colour,
            "target_text": COLOUR_TEXT[str(target.colour)],
        }
    return columns


def _number_text(value: float | None) -> str:
    if value is None:
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:g}".replace(".", ",")


def _series_row(plan: GoalPlan, series_id: str) -> dict[str, Any]:
    spec = plan.series[series_id]
    return {
        "series_id": series_id,
        "source": spec.source,
        "title": spec.title,
        "unit": spec.unit,
        "table_ids": sorted(_series_tables(plan, series_id)),
        "definition": json.dumps(
            spec.model_dump(mode="json", exclude_none=True), ensure_ascii=False
        ),
        "attribution": SCB_ATTRIBUTION if spec.source == "scb" else DERIVED_ATTRIBUTION,
    }


def _series_tables(plan: GoalPlan, series_id: str) -> set[str]:
    spec = plan.series[series_id]
    if spec.scb is not None:
        return {segment.table for segment in spec.scb}
    inputs = spec.derived.inputs() if spec.derived else []
    return set().union(*(_series_tables(plan, ref) for ref in inputs))


# --- what a refresh must fetch -------------------------------------------------------------


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
