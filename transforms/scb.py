"""SCB JSON-stat 2 answers → tidy frames → observations (pure: no I/O).

Region codes become Kolada's four digits: ``00`` (Riket) → ``0000``, a two-digit län
``01`` → ``0001``, a kommun ``0115`` stays. SCB's storstadsområden ``0010``/``0020``/
``0030`` are dropped: Kolada has no such areas and its ``0010`` is Region Blekinge.
Any other code (NUTS, A-regioner, …) is refused rather than guessed.

Stock series: an area's zeros in the years before its first non-zero value mean "the
area did not exist yet" (Knivsta, 0330, is 0 before its first count in 2002), so they
become null with status ``not_existing``. Flow zeros (no dwellings completed) are real.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import polars as pl

from transforms.schema import OBSERVATION_KEY, OBSERVATION_SCHEMA

NOT_EXISTING = "not_existing"

# Storstadsområden: Stor-Stockholm, Stor-Göteborg, Stor-Malmö.
DROPPED_REGIONS = frozenset({"0010", "0020", "0030"})

SEX_TOTALS = frozenset({"1+2", "tot", "totsa", "t", "totalt"})
SEX_CODES = {"1": "M", "2": "K"}

_YEAR = re.compile(r"^\d{4}$")


def _load(body: bytes | str | Mapping[str, Any]) -> Mapping[str, Any]:
    return json.loads(body) if isinstance(body, (bytes, str)) else body


def jsonstat_codes(dimension: Mapping[str, Any]) -> list[str]:
    """A JSON-stat dimension's category codes in index order (never key order)."""
    index = dimension["category"]["index"]
    if isinstance(index, list):
        return [str(code) for code in index]
    return [code for code, _ in sorted(index.items(), key=lambda item: item[1])]


def _cells(raw: Any, n: int, name: str) -> list[Any]:
    """A JSON-stat ``value``/``status`` (array, sparse object or single string) as n cells."""
    if raw is None:
        return [None] * n
    if isinstance(raw, str):
        return [raw] * n
    if isinstance(raw, Mapping):
        cells: list[Any] = [None] * n
        for key, item in raw.items():
            cells[int(key)] = item
        return cells
    cells = list(raw)
    if len(cells) != n:
        raise ValueError(f"JSON-stat {name} has {len(cells)} entries, size implies {n}")
    return cells


def jsonstat2_to_frame(body: bytes | str | Mapping[str, Any]) -> pl.DataFrame:
    """One row per cell: ``<dim>``, ``<dim>_label`` per dimension, ``value``, ``status``.

    Categories are ordered by their index value (never by key order); ``value`` is
    row-major with the last dimension varying fastest.
    """
    data = _load(body)
    ids: list[str] = list(data["id"])
    sizes: list[int] = [int(s) for s in data["size"]]
    n = math.prod(sizes)
    columns: dict[str, pl.Series] = {}
    position = pl.Series("position", range(n), dtype=pl.Int64)
    stride = n
    for dim, size in zip(ids, sizes, strict=True):
        dimension = data["dimension"][dim]
        codes = jsonstat_codes(dimension)
        if len(codes) != size:
            raise ValueError(f"JSON-stat dimension {dim} has {len(codes)} categories, size {size}")
        labels = dimension["category"].get("label") or {}
        stride //= max(size, 1)
        at = (position // max(stride, 1)) % max(size, 1) if n else position
        columns[dim] = pl.Series(dim, codes, dtype=pl.String).gather(at)
        columns[f"{dim}_label"] = pl.Series(
            f"{dim}_label", [labels.get(code, code) for code in codes], dtype=pl.String
        ).gather(at)
    values = [None if v is None else float(v) for v in _cells(data.get("value"), n, "value")]
    columns["value"] = pl.Series("value", values, dtype=pl.Float64)
    columns["status"] = pl.Series("status", _cells(data.get("status"), n, "status"), pl.String)
    return pl.DataFrame(list(columns.values()))


@dataclass(frozen=True)
class TableRoles:
    """Which variable of a table is the region, the time, the content and the sex."""

    region: str
    time: str
    content: str
    sex: str | None


# Labels SCB gives the region and sex variables (Swedish and English tables).
_REGION_LABELS = frozenset({"region"})
_SEX_LABELS = frozenset({"kön", "sex"})


def table_roles(
    metadata: Mapping[str, Any], overrides: Mapping[str, str] | None = None
) -> TableRoles:
    """A table's region, time, content and sex variables, from its JSON-stat metadata.

    Time and content come from the ``role`` (``time``, ``metric``), the region from
    ``role.geo`` or else the variable labelled "region", the sex from the variable
    labelled "kön". ``overrides`` (a plan's ``variables:``) name them where a table
    says otherwise; ValueError names what could not be found.
    """
    overrides = dict(overrides or {})
    roles = metadata.get("role") or {}
    variables = list(metadata.get("id") or [])
    labels = {
        variable: str(metadata["dimension"][variable].get("label") or "").casefold()
        for variable in variables
    }

    def pick(role: str, found: list[str]) -> str | None:
        chosen = overrides.pop(role, None) or (found[0] if found else None)
        if chosen is not None and chosen not in variables:
            raise ValueError(
                f"{table_id_of(metadata)}: {role} variable {chosen!r} is not one of "
                f"{', '.join(variables)}"
            )
        return chosen

    time = pick("time", list(roles.get("time") or []))
    content = pick("content", list(roles.get("metric") or []))
    region = pick(
        "region",
        list(roles.get("geo") or []) or [v for v in variables if labels[v] in _REGION_LABELS],
    )
    sex = pick("sex", [v for v in variables if labels[v] in _SEX_LABELS])
    if overrides:
        raise ValueError(
            f"unknown variable roles {sorted(overrides)}: use region, time, content, sex"
        )
    missing = [
        name
        for name, got in (("region", region), ("time", time), ("content", content))
        if got is None
    ]
    if missing:
        raise ValueError(
            f"{table_id_of(metadata)}: no {' or '.join(missing)} variable in the metadata; "
            "name it in the plan's variables: {region: …, time: …, content: …}"
        )
    assert region is not None and time is not None and content is not None
    return TableRoles(region=region, time=time, content=content, sex=sex)


def table_id_of(metadata: Mapping[str, Any]) -> str:
    """The table id a metadata (or data) answer describes."""
    px = (metadata.get("extension") or {}).get("px") or {}
    return str(px.get("tableid") or px.get("matrix") or "?")


def jsonstat2_updated(body: bytes | str | Mapping[str, Any]) -> datetime | None:
    """The answer's ``updated`` timestamp (when SCB last changed the table), in UTC."""
    raw = _load(body).get("updated")
    return _parse_updated(raw) if raw else None


def measuring_type(body: bytes | str | Mapping[str, Any], content_code: str) -> str:
    """``Stock`` or ``Flow`` for a content code, from a metadata or data answer."""
    data = _load(body)
    for dimension in data["dimension"].values():
        types = (dimension.get("extension") or {}).get("measuringType") or {}
        if content_code in types:
            return str(types[content_code])
    raise ValueError(f"no measuringType for content code {content_code!r}")


def _parse_updated(value: datetime | str) -> datetime:
    if isinstance(value, datetime):
        when = value
    else:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def kolada_region_code(code: str) -> str | None:
    """SCB region code → Kolada's four digits; None for the areas Kolada lacks."""
    if code in DROPPED_REGIONS:
        return None
    if len(code) == 2 and code.isdigit():
        return "00" + code
    if len(code) == 4 and code.isdigit():
        return code
    raise ValueError(f"SCB region code {code!r} has no Kolada counterpart")


def kolada_gender(code: str) -> str:
    """SCB sex code → ``M``, ``K`` or ``T`` (totals such as ``1+2``, ``TotSa``, ``tot``)."""
    if code in SEX_CODES:
        return SEX_CODES[code]
    if code.casefold() in SEX_TOTALS:
        return "T"
    raise ValueError(f"SCB sex code {code!r} is neither 1, 2 nor a total")


def scb_frame_to_observations(
    frame: pl.DataFrame,
    *,
    series_id: str,
    table_id: str,
    updated: datetime | str | None,
    region_var: str = "Region",
    time_var: str = "Tid",
    sex_var: str | None = "Kon",
    measuring_type: Literal["Stock", "Flow"],
    response_hash: str,
) -> pl.DataFrame:
    """A ``jsonstat2_to_frame`` frame as observations (``OBSERVATION_SCHEMA``, source scb).

    Every dimension but region, time and sex must hold one value (select or filter it
    first), so each row is one series value. A missing or eliminated sex is ``T``.
    """
    if measuring_type not in ("Stock", "Flow"):
        raise ValueError(f"measuring_type must be Stock or Flow, got {measuring_type!r}")
    for required in (region_var, time_var):
        if required not in frame.columns:
            raise ValueError(f"{table_id}: frame has no {required!r} column")
    has_sex = sex_var is not None and sex_var in frame.columns
    keys = {region_var, time_var, *([sex_var] if has_sex and sex_var else [])}
    dims = [
        c
        for c in frame.columns
        if c not in ("value", "status") and not c.endswith("_label") and c not in keys
    ]
    for dim in dims:
        distinct = frame.get_column(dim).unique().sort().to_list()
        if len(distinct) > 1:
            raise ValueError(
                f"{table_id}: {series_id} needs one value of {dim}, the frame has "
                f"{', '.join(map(str, distinct))}"
            )

    regions = {code: kolada_region_code(code) for code in frame.get_column(region_var).unique()}
    bad_years = [
        t for t in frame.get_column(time_var).unique().to_list() if not _YEAR.match(str(t))
    ]
    if bad_years:
        raise ValueError(f"{table_id}: time codes {sorted(bad_years)} are not years")
    genders = (
        {code: kolada_gender(code) for code in frame.get_column(sex_var).unique()}
        if has_sex and sex_var
        else {}
    )

    obs = frame.select(
        pl.lit("scb").alias("source"),
        pl.lit(series_id).alias("series_id"),
        pl.col(region_var).replace_strict(regions, return_dtype=pl.String).alias("municipality_id"),
        pl.col(time_var).cast(pl.Int32).alias("year"),
        (
            pl.col(sex_var).replace_strict(genders, return_dtype=pl.String)
            if has_sex and sex_var
            else pl.lit("T")
        ).alias("gender"),
        pl.when(pl.col("status").is_null()).then(pl.col("value")).alias("value"),
        pl.lit(None, dtype=pl.Int32).alias("count"),
        pl.col("status"),
        pl.lit(False).alias("is_deleted"),
        pl.lit(table_id).alias("table_id"),
        pl.lit(_parse_updated(updated) if updated else None)
        .cast(pl.Datetime("us", "UTC"))
        .alias("source_updated"),
        pl.lit(response_hash).alias("response_hash"),
    ).filter(pl.col("municipality_id").is_not_null())

    if measuring_type == "Stock":
        obs = _null_structural_zeros(obs)

    duplicated = obs.filter(pl.struct(OBSERVATION_KEY).is_duplicated())
    if duplicated.height:
        raise ValueError(
            f"{table_id}: {series_id} has {duplicated.height} rows sharing a key, e.g. "
            f"{duplicated.row(0, named=True)}"
        )
    return (
        obs.sort(OBSERVATION_KEY)
        .cast(pl.Schema(OBSERVATION_SCHEMA))
        .select(list(OBSERVATION_SCHEMA))
    )


def _null_structural_zeros(obs: pl.DataFrame) -> pl.DataFrame:
    """Zeros before an area's first non-zero value → null, status ``not_existing``.

    An area that is zero in every year keeps its zeros: with no later value there is
    nothing to say the area did not exist.
    """
    area = ["municipality_id", "gender"]
    first_real = (
        obs.filter(pl.col("value").is_not_null() & (pl.col("value") != 0))
        .group_by(area)
        .agg(pl.col("year").min().alias("_first_real"))
    )
    structural = (pl.col("value") == 0) & (pl.col("year") < pl.col("_first_real"))
    return (
        obs.join(first_real, on=area, how="left")
        .with_columns(
            pl.when(structural).then(None).otherwise(pl.col("value")).alias("value"),
            pl.when(structural)
            .then(pl.lit(NOT_EXISTING))
            .otherwise(pl.col("status"))
            .alias("status"),
        )
        .drop("_first_real")
    )


def scb_tables_frame(tables: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """SCB's `/tables` listing as a frame: id, label, first and last period, updated."""
    return pl.DataFrame(
        [
            {
                "id": table.get("id"),
                "label": table.get("label"),
                "first_period": table.get("firstPeriod"),
                "last_period": table.get("lastPeriod"),
                "updated": table.get("updated"),
                "variables": ", ".join(table.get("variableNames") or []),
            }
            for table in tables
        ],
        schema={
            "id": pl.String,
            "label": pl.String,
            "first_period": pl.String,
            "last_period": pl.String,
            "updated": pl.String,
            "variables": pl.String,
        },
    )


def scb_table_variables(metadata: Mapping[str, Any]) -> pl.DataFrame:
    """A table's variables and content codes, for writing a plan's `scb:` segments.

    One row per variable (how many values, whether it can be eliminated, the first
    codes) and one per content code (its label, unit and measuringType).
    """
    rows = []
    content = ((metadata.get("role") or {}).get("metric") or ["ContentsCode"])[0]
    for variable in metadata.get("id", []):
        dimension = metadata["dimension"][variable]
        codes = jsonstat_codes(dimension)
        labels = dimension["category"].get("label", {})
        extension = dimension.get("extension") or {}
        if variable == content:
            units = dimension["category"].get("unit", {})
            kinds = extension.get("measuringType") or {}
            for code in codes:
                unit = units.get(code, {})
                rows.append(
                    {
                        "kind": "content",
                        "code": code,
                        "label": labels.get(code),
                        "detail": f"{unit.get('base', '')}, {kinds.get(code, '')}",
                    }
                )
            continue
        examples = ", ".join(codes[:6]) + (", …" if len(codes) > 6 else "")
        eliminable = "eliminable" if extension.get("elimination") else "must be selected"
        rows.append(
            {
                "kind": "variable",
                "code": variable,
                "label": dimension.get("label"),
                "detail": f"{len(codes)} values ({eliminable}): {examples}",
            }
        )
    return pl.DataFrame(
        rows, schema={"kind": pl.String, "code": pl.String, "label": pl.String, "detail": pl.String}
    )
