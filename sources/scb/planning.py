"""SCB request planning (pure: no I/O): selections resolved against a table's metadata,
and split into the fewest data calls that fit SCB's cell limit.

A selection maps a variable code to what to take from it::

    {"Region": {"codelist": "vs_RegionKommun07", "values": ["*"]},
     "ContentsCode": "BE0101N1", "Tid": "FROM(2015)", "Kon": ["1", "2"]}

A value is a code, an expression (``*``, ``01*``, ``*01``, ``01??``, ``TOP(n[,offset])``,
``BOTTOM(n[,offset])``, ``FROM(x)``, ``TO(x)``, ``RANGE(x,y)``) or a list of them. A variable
left out is eliminated (SCB answers with its total) when the metadata allows it.
Resolving before any data call lets a misspelt code fail early and every call's cells
be counted exactly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from transforms.scb import jsonstat_codes, table_id_of

Selection = Mapping[str, Any]
Resolved = dict[str, list[str]]


class ScbSelectionError(ValueError):
    """A selection that names a variable, codelist or value the table does not have."""


# -- selections (pure) --------------------------------------------------------------

_COUNT_EXPR = re.compile(r"^(TOP|BOTTOM)\((\d+)(?:,(\d+))?\)$", re.IGNORECASE)
_ONE_CODE_EXPR = re.compile(r"^(FROM|TO)\((.+)\)$", re.IGNORECASE)
_RANGE_EXPR = re.compile(r"^RANGE\(([^,]+),([^,]+)\)$", re.IGNORECASE)


def selection_codelists(selection: Selection) -> dict[str, str]:
    """Variable → codelist id, for the variables selected through a codelist."""
    return {
        variable: str(spec["codelist"])
        for variable, spec in selection.items()
        if isinstance(spec, Mapping) and spec.get("codelist")
    }


def resolve_selection(
    metadata: Mapping[str, Any],
    selection: Selection,
    codelists: Mapping[str, Mapping[str, Any]] | None = None,
) -> Resolved:
    """Expand every expression to explicit codes, in the table's (or codelist's) order.

    ``codelists`` holds the ``/codelists/{id}`` answers the selection refers to.
    Eliminated variables (left out, and eliminable) are absent from the result.
    """
    table = table_id_of(metadata)
    variables: list[str] = list(metadata["id"])
    by_folded = {v.casefold(): v for v in variables}
    time_variables = set((metadata.get("role") or {}).get("time") or [])

    wanted: dict[str, Any] = {}
    for name, spec in selection.items():
        variable = name if name in variables else by_folded.get(name.casefold())
        if variable is None:
            raise ScbSelectionError(
                f"{table}: variable {name!r} does not exist; the table has {', '.join(variables)}"
            )
        wanted[variable] = spec

    resolved: Resolved = {}
    for variable in variables:
        dimension = metadata["dimension"][variable]
        if variable not in wanted:
            if not (dimension.get("extension") or {}).get("elimination", False):
                raise ScbSelectionError(
                    f"{table}: variable {variable!r} cannot be eliminated and must be selected"
                )
            continue
        spec = wanted[variable]
        if isinstance(spec, Mapping):
            codelist_id = spec.get("codelist")
            values = spec.get("values", spec.get("valueCodes", "*"))
        else:
            codelist_id, values = None, spec
        if codelist_id:
            codes = _codelist_codes(table, variable, dimension, str(codelist_id), codelists)
        else:
            codes = jsonstat_codes(dimension)
        items = [values] if isinstance(values, str) else list(values)
        if not items:
            raise ScbSelectionError(f"{table}: variable {variable!r} has an empty selection")
        is_time = variable in time_variables
        picked: set[str] = set()
        for item in items:
            picked.update(_expand(table, variable, codes, str(item).strip(), is_time))
        resolved[variable] = [code for code in codes if code in picked]
    return resolved


def _codelist_codes(
    table: str,
    variable: str,
    dimension: Mapping[str, Any],
    codelist_id: str,
    codelists: Mapping[str, Mapping[str, Any]] | None,
) -> list[str]:
    offered = [cl.get("id") for cl in (dimension.get("extension") or {}).get("codelists") or []]
    if codelist_id not in offered:
        raise ScbSelectionError(
            f"{table}: variable {variable!r} has no codelist {codelist_id!r}; it offers "
            f"{', '.join(str(cl) for cl in offered) or 'none'}"
        )
    if codelists is None or codelist_id not in codelists:
        raise ValueError(f"codelist {codelist_id!r} must be fetched before resolving")
    return [str(value["code"]) for value in codelists[codelist_id].get("values") or []]


def _expand(table: str, variable: str, codes: list[str], item: str, is_time: bool) -> list[str]:
    """The codes one value or expression selects."""
    upper = item.upper()
    if item == "*":
        return list(codes)
    if "*" in item:
        core = item.strip("*").casefold()
        if item.count("*") > 2 or "*" in item.strip("*"):
            raise _illegal(table, variable, item)
        if item.startswith("*") and item.endswith("*"):
            found = [c for c in codes if core in c.casefold()]
        elif item.startswith("*"):
            found = [c for c in codes if c.casefold().endswith(core)]
        else:
            found = [c for c in codes if c.casefold().startswith(core)]
        return _nonempty(table, variable, item, found)
    if "?" in item:
        pattern = re.compile("^" + re.escape(item).replace(r"\?", ".") + "$", re.IGNORECASE)
        return _nonempty(table, variable, item, [c for c in codes if pattern.match(c)])
    if upper.startswith(("TOP(", "BOTTOM(")) and not _COUNT_EXPR.match(item):
        raise _illegal(table, variable, item)
    if match := _COUNT_EXPR.match(item):
        count, offset = int(match.group(2)), int(match.group(3) or 0)
        if count < 1:
            raise _illegal(table, variable, item)
        # SCB keeps time ascending, so TOP means the latest periods there and the
        # first values elsewhere (PxWebApi's reference implementation does the same).
        from_end = (match.group(1).upper() == "TOP") == is_time
        ordered = list(reversed(codes)) if from_end else codes
        return ordered[offset : offset + count]
    if upper.startswith(("FROM(", "TO(")):
        one = _ONE_CODE_EXPR.match(item)
        if one is None:
            raise _illegal(table, variable, item)
        at = _position(table, variable, codes, one.group(2).strip())
        return codes[at:] if one.group(1).upper() == "FROM" else codes[: at + 1]
    if upper.startswith("RANGE("):
        pair = _RANGE_EXPR.match(item)
        if pair is None:
            raise _illegal(table, variable, item)
        first = _position(table, variable, codes, pair.group(1).strip())
        last = _position(table, variable, codes, pair.group(2).strip())
        first, last = min(first, last), max(first, last)
        return codes[first : last + 1]
    return [codes[_position(table, variable, codes, item)]]


def _position(table: str, variable: str, codes: list[str], code: str) -> int:
    if code in codes:
        return codes.index(code)
    folded = [c.casefold() for c in codes]
    if code.casefold() in folded:
        return folded.index(code.casefold())
    sample = ", ".join(codes[:8]) + (", …" if len(codes) > 8 else "")
    raise ScbSelectionError(
        f"{table}: value {code!r} does not exist in variable {variable!r} "
        f"({len(codes)} values: {sample})"
    )


def _nonempty(table: str, variable: str, item: str, found: list[str]) -> list[str]:
    if not found:
        raise ScbSelectionError(f"{table}: {item!r} matches no value of variable {variable!r}")
    return found


def _illegal(table: str, variable: str, item: str) -> ScbSelectionError:
    return ScbSelectionError(f"{table}: illegal selection expression {item!r} for {variable!r}")


# -- splitting (pure) ----------------------------------------------------------------


def count_cells(resolved: Mapping[str, Sequence[str]]) -> int:
    """Cells a selection asks for: the product of its value counts."""
    return math.prod(len(codes) for codes in resolved.values())


def plan_data_calls(resolved: Resolved, max_cells: int) -> list[Resolved]:
    """Split a resolved selection into the fewest calls of at most ``max_cells`` cells.

    Cutting one variable into equal chunks is tried for every variable and the one
    needing fewest calls wins (the largest on a tie): that reaches
    ``ceil(cells / max_cells)`` whenever the sizes allow. When no single variable can
    be cut finely enough, each value of the largest variable is planned on its own.
    """
    if max_cells < 1:
        raise ValueError(f"max_cells must be positive, got {max_cells}")
    if any(not codes for codes in resolved.values()):
        raise ValueError("every selected variable needs at least one value")
    cells = count_cells(resolved)
    if cells <= max_cells:
        return [dict(resolved)]

    best: tuple[int, int, str] | None = None  # (calls, -size, variable)
    for variable, codes in resolved.items():
        rest = cells // len(codes)
        per_call = max_cells // rest
        if per_call >= 1:
            candidate = (math.ceil(len(codes) / per_call), -len(codes), variable)
            best = candidate if best is None or candidate < best else best
    if best is not None:
        calls, _, variable = best
        codes = resolved[variable]
        size = math.ceil(len(codes) / calls)
        return [
            {**resolved, variable: codes[start : start + size]}
            for start in range(0, len(codes), size)
        ]

    largest = max(resolved, key=lambda v: len(resolved[v]))
    return [
        part
        for code in resolved[largest]
        for part in plan_data_calls({**resolved, largest: [code]}, max_cells)
    ]


def data_request_body(part: Mapping[str, Sequence[str]], codelists: Mapping[str, str]) -> dict:
    """The JSON body of one ``POST /tables/{id}/data``."""
    selection = []
    for variable, codes in part.items():
        entry: dict[str, Any] = {"variableCode": variable, "valueCodes": list(codes)}
        if variable in codelists:
            entry["codelist"] = codelists[variable]
        selection.append(entry)
    return {"selection": selection}
