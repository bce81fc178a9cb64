"""Reading a goal plan's YAML, and wording pydantic's errors the way a plan writer can act on.

``parse_goal_plan`` checks everything the file alone can tell: shape and ranges (the model)
and references between its own goals and series (here). Every error names the file, the goal
and indicator (or series), the key and the bad value.
"""

from __future__ import annotations

import difflib
import re
import types
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from transforms.goal_plan.model import GoalPlan, GoalPlanError, PlacedIndicator, SeriesSpec, _show

# --- parsing -----------------------------------------------------------------------------


class _PlanLoader(yaml.SafeLoader):
    """Safe YAML that refuses duplicate keys and lone surrogates, and keeps zero-padded
    codes ("0115") as text."""


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


_SURROGATE = re.compile("[\ud800-\udfff]")


def _construct_str(loader: _PlanLoader, node: yaml.ScalarNode) -> str:
    # A "\ud800" escape gives a str that UTF-8 cannot encode: no warehouse column, log
    # or error message written as UTF-8 could hold it.
    text = str(loader.construct_scalar(node))
    if surrogate := _SURROGATE.search(text):
        raise yaml.MarkedYAMLError(
            problem=f"'\\u{ord(surrogate[0]):04x}' is a lone surrogate, not a character "
            "(UTF-8 cannot hold it)",
            problem_mark=node.start_mark,
        )
    return text


_PlanLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_PlanLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_PlanLoader.add_constructor("tag:yaml.org,2002:str", _construct_str)


def decode_plan_text(data: bytes, source: str) -> str:
    """A plan file's bytes as text; GoalPlanError names the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise GoalPlanError(
            f"{source}: not UTF-8 at byte {error.start} (line {line}): save the file as UTF-8"
        ) from None


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
        data = Path(path).read_bytes()
    except OSError as error:
        raise GoalPlanError(f"{path}: cannot read the file: {error.strerror}") from None
    return parse_goal_plan(decode_plan_text(data, str(path)), str(path))


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
