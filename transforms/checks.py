"""Checks an observation frame must pass before it is loaded (pure, vectorised Polars)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import polars as pl

from transforms.schema import GENDERS, OBSERVATION_KEY, OBSERVATION_SCHEMA

MAX_ROWS_SHOWN = 10

# The row number in the checked frame, named so that it cannot clash with a checked column.
_ROW = "_checked_row"
# Shown for each offending row, so a reader can find it in the frame and in the raw landing.
_SHOWN_COLUMNS = (_ROW, *OBSERVATION_KEY, "value", "response_hash")


class ObservationCheckError(ValueError):
    """Observations that break the contract; the message lists every kind of violation."""

    def __init__(self, violations: list[str]):
        self.violations = violations
        super().__init__(f"observations fail {len(violations)} check(s):\n" + "\n".join(violations))


@dataclass(frozen=True)
class _RowCheck:
    title: str
    offends: pl.Expr
    listed_column: str | None = None  # its distinct offending values go in the title


def check_observations(
    observations: pl.DataFrame | pl.LazyFrame,
    *,
    known_series: Collection[str] | None = None,
    known_areas: Collection[str] | None = None,
    years: tuple[int, int] | None = None,
    any_year_series: Collection[str] = (),
) -> None:
    """Raise ObservationCheckError naming every violation and its rows; return if all pass.

    Checks the columns and dtypes against OBSERVATION_SCHEMA, then, on the columns that
    have the right dtype: null key parts, duplicate keys, genders other than T/K/M,
    years outside ``years`` (inclusive; not for ``any_year_series``, whose source answers
    with every year it has) and series or area ids not in the known ones.
    A lazy frame (staged files) is scanned with the streaming engine: only offending
    rows and the key hashes are ever held.
    """
    schema = observations.collect_schema()
    usable = [name for name, dtype in schema.items() if OBSERVATION_SCHEMA.get(name) == dtype]
    numbered = observations.lazy().with_row_index(_ROW)
    checks = _row_checks(usable, known_series, known_areas, years, any_year_series)
    found: dict[str, str] = {}
    if checks:
        flagged = (
            numbered
            # A null offends no value check: it is reported once, as a null key part.
            .with_columns(
                check.offends.fill_null(False).alias(name) for name, check in checks.items()
            )
            .filter(pl.any_horizontal(list(checks)))
            .collect(engine="streaming")
        )
        for name, check in checks.items():
            rows = flagged.filter(pl.col(name))
            if rows.height:
                found[name] = _describe(check.title, rows, check.listed_column)
    if all(name in usable for name in OBSERVATION_KEY):
        duplicates = _duplicate_key_rows(numbered)
        if duplicates.height:
            found["duplicate_key"] = _describe(
                f"duplicate keys ({', '.join(OBSERVATION_KEY)})",
                duplicates,
                order=(*OBSERVATION_KEY, _ROW),
            )
    violations = _schema_violations(schema) + [
        found[name] for name in _REPORT_ORDER if name in found
    ]
    if violations:
        raise ObservationCheckError(violations)


_REPORT_ORDER = (
    "null_key",
    "duplicate_key",
    "bad_gender",
    "year_out_of_range",
    "unknown_series",
    "unknown_area",
)


def _row_checks(
    usable: list[str],
    known_series: Collection[str] | None,
    known_areas: Collection[str] | None,
    years: tuple[int, int] | None,
    any_year_series: Collection[str] = (),
) -> dict[str, _RowCheck]:
    """The row-by-row checks that the frame's usable columns allow."""
    checks: dict[str, _RowCheck] = {}
    key_columns = [name for name in OBSERVATION_KEY if name in usable]
    if key_columns:
        checks["null_key"] = _RowCheck(
            f"null key parts ({', '.join(OBSERVATION_KEY)})",
            pl.any_horizontal(pl.col(key_columns).is_null()),
        )
    if "gender" in usable:
        checks["bad_gender"] = _RowCheck(
            f"gender not {', '.join(GENDERS)}", ~pl.col("gender").is_in(GENDERS), "gender"
        )
    if years is not None and "year" in usable:
        outside = ~pl.col("year").is_between(*years)
        if any_year_series and "series_id" in usable:
            outside = outside & ~pl.col("series_id").is_in(_string_set(any_year_series))
        checks["year_out_of_range"] = _RowCheck(
            f"year outside {years[0]}–{years[1]}", outside, "year"
        )
    if known_series is not None and "series_id" in usable:
        checks["unknown_series"] = _RowCheck(
            "series_id not among the known series",
            ~pl.col("series_id").is_in(_string_set(known_series)),
            "series_id",
        )
    if known_areas is not None and "municipality_id" in usable:
        checks["unknown_area"] = _RowCheck(
            "municipality_id not among the known areas",
            ~pl.col("municipality_id").is_in(_string_set(known_areas)),
            "municipality_id",
        )
    return checks


def _string_set(values: Collection[str]) -> pl.Expr:
    return pl.lit(pl.Series(list(values), dtype=pl.String()).implode())


def _duplicate_key_rows(numbered: pl.LazyFrame) -> pl.DataFrame:
    """Rows whose complete key occurs more than once.

    Finding equal key hashes by sorting them is several times faster on millions of rows
    than hashing whole keys into a table, and holds 8 bytes a row; the few candidates
    are then compared exactly.
    """
    key = pl.struct(OBSERVATION_KEY)
    complete = pl.all_horizontal(pl.col(OBSERVATION_KEY).is_not_null())
    hashes = numbered.filter(complete).select(key.hash().sort().alias("hash"))
    repeated = (
        hashes.filter(pl.col("hash") == pl.col("hash").shift(1))
        .unique()
        .collect(engine="streaming")
    )
    candidates = numbered.filter(
        complete & key.hash().is_in(repeated.get_column("hash").implode())
    ).collect(engine="streaming")
    return candidates.filter(key.is_duplicated())


def _schema_violations(schema: pl.Schema) -> list[str]:
    missing = [name for name in OBSERVATION_SCHEMA if name not in schema]
    extra = [name for name in schema if name not in OBSERVATION_SCHEMA]
    wrong = [
        f"{name} is {dtype}, expected {OBSERVATION_SCHEMA[name]}"
        for name, dtype in schema.items()
        if name in OBSERVATION_SCHEMA and dtype != OBSERVATION_SCHEMA[name]
    ]
    problems = []
    if missing:
        problems.append(f"- missing columns: {', '.join(missing)}")
    if extra:
        problems.append(f"- unexpected columns: {', '.join(extra)}")
    if wrong:
        problems.append(f"- wrong dtypes: {'; '.join(wrong)}")
    if not (missing or extra) and list(schema) != list(OBSERVATION_SCHEMA):
        problems.append(
            f"- columns out of order: {', '.join(schema)}; expected {', '.join(OBSERVATION_SCHEMA)}"
        )
    return problems


def _describe(
    title: str,
    rows: pl.DataFrame,
    listed_column: str | None = None,
    order: tuple[str, ...] = (_ROW,),
) -> str:
    """One violation: what, how many rows, and the first rows (key, value, response hash)."""
    summary = f"- {title}: {rows.height} row(s)"
    if listed_column is not None:
        values = rows.get_column(listed_column).unique().sort()
        listed = ", ".join(repr(value) for value in values.head(MAX_ROWS_SHOWN).to_list())
        more = f" and {values.len() - MAX_ROWS_SHOWN} more" if values.len() > MAX_ROWS_SHOWN else ""
        summary += f" with {listed_column} {listed}{more}"
    if rows.height > MAX_ROWS_SHOWN:
        summary += f", the first {MAX_ROWS_SHOWN}"
    shown = (
        rows.bottom_k(MAX_ROWS_SHOWN, by=order)
        .sort(order)
        .select(name for name in _SHOWN_COLUMNS if name in rows.columns)
        .rename({_ROW: "row"})
    )
    lines = [
        "    " + ", ".join(f"{name}={value!r}" for name, value in row.items())
        for row in shown.iter_rows(named=True)
    ]
    return summary + ":\n" + "\n".join(lines)
