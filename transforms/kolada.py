"""Kolada v3 bodies and records → observation and catalogue frames (pure, no I/O).

Data pages are parsed by Polars' JSON reader against an explicit schema, never by
inference: a page whose values are all null must still give Float64 values, and
integer values must become floats.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from transforms.catalogue import Catalogue
from transforms.schema import OBSERVATION_KEY, OBSERVATION_SCHEMA, empty_observations

# Fields in the order the live API writes them: Polars reads a body faster when the
# schema follows the document's key order. Unknown fields (count, next_url…) are skipped.
_VALUE = pl.Struct(
    {
        "gender": pl.String(),
        "count": pl.Int32(),
        "status": pl.String(),
        "value": pl.Float64(),
        "isdeleted": pl.Boolean(),
    }
)
_RECORD = pl.Struct(
    {
        "kpi": pl.String(),
        "municipality": pl.String(),
        "period": pl.Int32(),
        "values": pl.List(_VALUE),
    }
)
_PAGE_SCHEMA = {"values": pl.List(_RECORD), "next_url": pl.String()}
_RECORD_KEYS = ("kpi", "municipality", "period", "values")

KPI_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(),
    "title": pl.String(),
    "description": pl.String(),
    "is_divided_by_gender": pl.Boolean(),
    "municipality_type": pl.String(),
    "auspice": pl.String(),
    "operating_area": pl.String(),
    "perspective": pl.String(),
    "prel_publication_date": pl.Date(),
    "publication_date": pl.Date(),
    "publ_period": pl.Int32(),
    "has_ou_data": pl.Boolean(),
}
_KPI_TEXT_FIELDS = (
    "id",
    "title",
    "description",
    "municipality_type",
    "operating_area",
    "perspective",
)
_KPI_DATE_FIELDS = ("prel_publication_date", "publication_date")
MUNICIPALITY_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(),
    "title": pl.String(),
    "type": pl.String(),
}
GROUP_SCHEMA: dict[str, pl.DataType] = {"id": pl.String(), "title": pl.String()}
GROUP_MEMBER_SCHEMA: dict[str, pl.DataType] = {
    "group_id": pl.String(),
    "member_id": pl.String(),
    "member_title": pl.String(),
}


class KoladaRecordError(ValueError):
    """A Kolada body or record that does not have the documented shape."""


@dataclass(frozen=True)
class KoladaPage:
    """One data page read once: its observations, where the next page is, its record count."""

    observations: pl.DataFrame
    next_url: str | None
    records: int


def kolada_page_observations(body: bytes, content_hash: str) -> KoladaPage:
    """A data page as observations (OBSERVATION_SCHEMA, page order) and its next_url.

    The body is parsed once, by Polars against the page schema; the observations carry
    the body's hash as their response_hash. A record without its kpi, municipality,
    period, values or a value's gender is KoladaRecordError, naming the page and record.
    """
    try:
        parsed = pl.read_json(body, schema=_PAGE_SCHEMA)
    except Exception as exc:  # Polars raises several error types for malformed JSON
        raise KoladaRecordError(f"Kolada data page {content_hash} is not JSON: {exc}") from exc
    if parsed.height != 1:
        raise KoladaRecordError(
            f"Kolada data page {content_hash} is not a JSON object with a values list"
        )
    records = parsed.get_column("values").list.len().item()
    if records is None:
        raise KoladaRecordError(f"Kolada data page {content_hash} has no values list")
    observations = (
        parsed.lazy()
        .select("values")
        .explode("values", keep_nulls=False)
        .unnest("values")
        # A record without values keeps one row, without a gender, for the check below.
        .explode("values", keep_nulls=True)
        .unnest("values")
        .select(
            source=pl.lit("kolada"),
            series_id="kpi",
            municipality_id="municipality",
            year="period",
            gender="gender",
            value="value",
            count="count",
            status=pl.when(pl.col("status") != "").then("status"),
            # The flag only comes with from_date queries and in newer answers.
            is_deleted=pl.col("isdeleted").fill_null(False),
            table_id=pl.lit(None, OBSERVATION_SCHEMA["table_id"]),
            source_updated=pl.lit(None, OBSERVATION_SCHEMA["source_updated"]),
            response_hash=pl.lit(content_hash, pl.String()),
        )
        .collect()
    )
    # Polars keeps each column's null count: on a sound page this check costs nothing.
    if any(observations.get_column(key).has_nulls() for key in OBSERVATION_KEY):
        raise _incomplete_record(parsed, content_hash)
    return KoladaPage(observations, parsed.get_column("next_url").item(), int(records))


def _incomplete_record(parsed: pl.DataFrame, content_hash: str) -> KoladaRecordError:
    """The error naming the page's first record that lacks a key, its values or a gender.

    Every recorded record (378, v2 and v3) has all four keys and a gender in each value;
    a missing figure comes as a null value inside the list. A record without its values
    would otherwise vanish, and one without its kpi would load nulls.
    """
    lacking = pl.concat_str(
        [pl.when(pl.col(key).is_null()).then(pl.lit(key)) for key in _RECORD_KEYS],
        separator=", ",
        ignore_nulls=True,
    )
    no_gender = pl.col("values").list.eval(pl.element().struct.field("gender").is_null()).list.any()
    problem = (
        pl.when(lacking != "")
        .then(pl.lit("has no ") + lacking)
        .when(no_gender)
        .then(pl.lit("has a value without gender"))
    )
    found = (
        parsed.select("values")
        .explode("values", keep_nulls=False)
        .unnest("values")
        .with_row_index("number", offset=1)
        .select("number", "kpi", "municipality", "period", problem=problem)
        .drop_nulls("problem")
    )
    first = found.row(0, named=True)
    more = f" (and {found.height - 1} more incomplete records)" if found.height > 1 else ""
    record = ", ".join(
        f"{key} {json.dumps(first[key])}" for key in ("kpi", "municipality", "period")
    )
    return KoladaRecordError(
        f"Kolada data page {content_hash}: record {first['number']} ({record}) "
        f"{first['problem']}{more}"
    )


def kolada_pages_to_observations(pages: Iterable[tuple[str, bytes]]) -> pl.DataFrame:
    """Observations (OBSERVATION_SCHEMA, sorted by key) from (content_hash, body) data pages.

    Rows with the same key (which checks reject) come in page order.
    """
    frames = [
        kolada_page_observations(body, content_hash).observations for content_hash, body in pages
    ]
    if not frames:
        return empty_observations()
    return pl.concat(frames).sort(OBSERVATION_KEY, maintain_order=True)


def kolada_kpis_to_frame(records: list[dict[str, Any]]) -> pl.DataFrame:
    """The KPI catalogue (KPI_SCHEMA, sorted by id) from v3 or v2 `/kpi` records.

    Flags may be booleans or 0/1, `publ_period` a string or an integer, and v2 records
    name `auspice` `auspices`.
    """
    columns: dict[str, list[Any]] = {name: [] for name in KPI_SCHEMA}
    for record in records:
        kpi_id = record.get("id")
        for name in _KPI_TEXT_FIELDS:
            columns[name].append(record.get(name))
        columns["auspice"].append(
            record["auspice"] if "auspice" in record else record.get("auspices")
        )
        for name in ("is_divided_by_gender", "has_ou_data"):
            columns[name].append(_field(record, name, _flag, kpi_id))
        columns["publ_period"].append(_field(record, "publ_period", _year, kpi_id))
        for name in _KPI_DATE_FIELDS:
            columns[name].append(record.get(name) or None)
    text_schema = {
        name: pl.String() if name in _KPI_DATE_FIELDS else dtype
        for name, dtype in KPI_SCHEMA.items()
    }
    return (
        pl.DataFrame(columns, schema=text_schema)
        .with_columns(pl.col(name).str.to_date("%Y-%m-%d") for name in _KPI_DATE_FIELDS)
        .sort("id")
    )


def _field(record: dict[str, Any], name: str, convert: Callable[[Any], Any], kpi_id: object) -> Any:
    value = record.get(name)
    try:
        return convert(value)
    except (TypeError, ValueError) as exc:
        raise KoladaRecordError(f"KPI {kpi_id}: {name} is {value!r}: {exc}") from exc


def _flag(value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError("expected true/false or 0/1")


def _year(value: object) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError("expected a year as integer or string")
    return int(value)


def kolada_municipalities_to_frame(records: list[dict[str, Any]]) -> pl.DataFrame:
    """Areas (id, title, type; sorted by id) from `/municipality` records."""
    return pl.DataFrame(
        {name: [record.get(name) for record in records] for name in MUNICIPALITY_SCHEMA},
        schema=MUNICIPALITY_SCHEMA,
    ).sort("id")


def kolada_groups_to_frames(
    records: list[dict[str, Any]],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Groups (id, title) and their members (group_id, member_id, member_title), sorted by ids."""
    groups = pl.DataFrame(
        {
            "id": [record.get("id") for record in records],
            "title": [record.get("title") for record in records],
        },
        schema=GROUP_SCHEMA,
    ).sort("id")
    members = [
        (record.get("id"), member.get("member_id"), member.get("member_title"))
        for record in records
        for member in record.get("members") or []
    ]
    group_members = pl.DataFrame(members, schema=GROUP_MEMBER_SCHEMA, orient="row").sort(
        "group_id", "member_id"
    )
    return groups, group_members


def kolada_catalogue(records: Mapping[str, list[dict[str, Any]]]) -> Catalogue:
    """The catalogue from `/kpi`, `/municipality` and `/municipality_groups` records."""
    groups, members = kolada_groups_to_frames(records["municipality_groups"])
    return Catalogue(
        kpis=kolada_kpis_to_frame(records["kpi"]),
        municipalities=kolada_municipalities_to_frame(records["municipality"]),
        groups=groups,
        group_members=members,
    )
