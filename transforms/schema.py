"""Column schemas shared by every source: the tidy indicator model."""

import polars as pl

OBSERVATION_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "series_id": pl.String(),
    "municipality_id": pl.String(),
    "year": pl.Int32(),
    "gender": pl.String(),
    "value": pl.Float64(),
    "count": pl.Int32(),
    "status": pl.String(),
    "is_deleted": pl.Boolean(),
    "table_id": pl.String(),
    "source_updated": pl.Datetime("us", "UTC"),
    "response_hash": pl.String(),
}

OBSERVATION_KEY = ("series_id", "municipality_id", "year", "gender")

GENDERS = ("T", "K", "M")


def empty_observations() -> pl.DataFrame:
    """An observation frame with no rows."""
    return pl.DataFrame(schema=OBSERVATION_SCHEMA)
