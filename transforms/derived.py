"""Series built from other series: stitched table segments and plan formulas (pure).

Derived rows carry source ``derived``, the source tables they were computed from in
``table_id`` (comma-separated), the newest input ``source_updated``, and no status,
count or response hash: they come from no single response.
"""

from __future__ import annotations

from collections.abc import Collection

import polars as pl

from transforms.goal_plan import GoalPlan, plan_series_ids
from transforms.schema import OBSERVATION_KEY, OBSERVATION_SCHEMA, empty_observations

YearRange = tuple[int | None, int | None]

_AREA = ["municipality_id", "gender"]


def stitch_segments(frames_by_segment: list[tuple[YearRange, pl.DataFrame]]) -> pl.DataFrame:
    """One series from table segments, each cut to its (from_year, to_year); later wins.

    ``None`` leaves a segment open at that end. The rows keep their own source and table.
    """
    parts = []
    for priority, ((from_year, to_year), frame) in enumerate(frames_by_segment):
        kept = frame
        if from_year is not None:
            kept = kept.filter(pl.col("year") >= from_year)
        if to_year is not None:
            kept = kept.filter(pl.col("year") <= to_year)
        parts.append(
            kept.select(list(OBSERVATION_SCHEMA)).with_columns(pl.lit(priority).alias("_p"))
        )
    if not parts:
        return empty_observations()
    return (
        pl.concat(parts)
        .sort("_p")
        .unique(subset=list(OBSERVATION_KEY), keep="last", maintain_order=True)
        .drop("_p")
        .sort(OBSERVATION_KEY)
    )


def pct_change(obs: pl.DataFrame, series_id: str) -> pl.DataFrame:
    """Change from the previous year in percent, per area and gender.

    ``(x_t - x_{t-1}) / x_{t-1} * 100``; null when the previous year is missing, null or
    zero. Every input row gets an output row.
    """
    previous = obs.select(
        *_AREA,
        (pl.col("year") + 1).cast(pl.Int32).alias("year"),
        pl.col("value").alias("_prev"),
        pl.col("table_id").alias("_prev_table"),
        pl.col("source_updated").alias("_prev_updated"),
    )
    joined = obs.join(previous, on=[*_AREA, "year"], how="left")
    value = (
        pl.when(pl.col("_prev").is_not_null() & (pl.col("_prev") != 0))
        .then((pl.col("value") - pl.col("_prev")) / pl.col("_prev") * 100)
        .otherwise(None)
    )
    return _derived(
        joined,
        series_id,
        value,
        tables=[pl.col("table_id"), pl.col("_prev_table")],
        updated=[pl.col("source_updated"), pl.col("_prev_updated")],
    )


def per_1000(
    numerator_obs: pl.DataFrame, denominator_obs: pl.DataFrame, series_id: str
) -> pl.DataFrame:
    """``numerator / denominator * 1000`` where both have the area, year and gender.

    Null when the denominator is null or zero.
    """
    denominator = denominator_obs.select(
        *_AREA,
        "year",
        pl.col("value").alias("_den"),
        pl.col("table_id").alias("_den_table"),
        pl.col("source_updated").alias("_den_updated"),
    )
    joined = numerator_obs.join(denominator, on=[*_AREA, "year"], how="inner")
    value = (
        pl.when(pl.col("_den").is_not_null() & (pl.col("_den") != 0))
        .then(pl.col("value") / pl.col("_den") * 1000)
        .otherwise(None)
    )
    return _derived(
        joined,
        series_id,
        value,
        tables=[pl.col("table_id"), pl.col("_den_table")],
        updated=[pl.col("source_updated"), pl.col("_den_updated")],
    )


def _derived(
    joined: pl.DataFrame,
    series_id: str,
    value: pl.Expr,
    *,
    tables: list[pl.Expr],
    updated: list[pl.Expr],
) -> pl.DataFrame:
    return (
        joined.select(
            pl.lit("derived").alias("source"),
            pl.lit(series_id).alias("series_id"),
            "municipality_id",
            "year",
            "gender",
            value.cast(pl.Float64).alias("value"),
            pl.lit(None, dtype=pl.Int32).alias("count"),
            pl.lit(None, dtype=pl.String).alias("status"),
            pl.lit(False).alias("is_deleted"),
            pl.concat_list(tables)
            .list.drop_nulls()
            .list.unique()
            .list.sort()
            .list.join(",")
            .alias("table_id"),
            pl.max_horizontal(updated).alias("source_updated"),
            pl.lit(None, dtype=pl.String).alias("response_hash"),
        )
        .with_columns(
            pl.when(pl.col("table_id") == "")
            .then(None)
            .otherwise(pl.col("table_id"))
            .alias("table_id")
        )
        .cast(pl.Schema(OBSERVATION_SCHEMA))
        .sort(OBSERVATION_KEY)
    )


def derived_observations(
    plan: GoalPlan, observations: pl.DataFrame, unavailable: Collection[str] = ()
) -> pl.DataFrame:
    """Every derived series of the plan, computed from the observations of its inputs.

    ``observations`` holds what the sources fetched; a derived series may build on
    another derived one (``plan_series_ids`` puts inputs first). A series that is
    ``unavailable``, or computed from one, is left out.
    """
    skipped = series_depending_on(plan, unavailable)
    series: dict[str, pl.DataFrame] = {}

    def inputs(series_id: str) -> pl.DataFrame:
        if series_id not in series:
            series[series_id] = observations.filter(pl.col("series_id") == series_id)
        return series[series_id]

    for series_id in plan_series_ids(plan):
        derived = plan.series[series_id].derived
        if derived is None or series_id in skipped:
            continue
        if derived.formula == "pct_change":
            assert derived.of is not None
            series[series_id] = pct_change(inputs(derived.of), series_id)
        else:
            assert derived.numerator is not None and derived.denominator is not None
            series[series_id] = per_1000(
                inputs(derived.numerator), inputs(derived.denominator), series_id
            )
    computed = [
        frame for series_id, frame in series.items() if plan.series[series_id].derived is not None
    ]
    return pl.concat(computed).sort(OBSERVATION_KEY) if computed else empty_observations()


def series_depending_on(plan: GoalPlan, series_ids: Collection[str]) -> set[str]:
    """The given series and every declared series computed from them, directly or not."""
    affected = set(series_ids)
    for series_id in plan_series_ids(plan):
        spec = plan.series[series_id]
        if spec.derived is not None and affected.intersection(spec.derived.inputs()):
            affected.add(series_id)
    return affected
