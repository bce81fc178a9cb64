"""The Kolada catalogue as one value, and the searches plan writers use to find ids.

Searches fold case and diacritics ("umea" finds Umeå) and require every word of the
query to occur in the id or title, so "trygg skola" finds both åk 5 and åk 8 KPIs.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import polars as pl

from transforms.rules import RIKET_ID

KPI_SEARCH_COLUMNS = (
    "id",
    "title",
    "municipality_type",
    "is_divided_by_gender",
    "publication_date",
    "operating_area",
)

MUNICIPALITY_TYPE_NAMES = {"K": "kommun", "L": "region", "A": "kommun och region"}

# Kolada marks a discontinued KPI by ending its title with the last year, "(-2023)".
DISCONTINUED_TITLE = r"\(-\d{4}\)\s*$"

AREA_KIND_ORDER = {"riket": 0, "region": 1, "kommun": 2, "grupp": 3}


@dataclass(frozen=True)
class Catalogue:
    """Kolada metadata frames, with the columns of docs/architecture.md."""

    kpis: pl.DataFrame
    municipalities: pl.DataFrame
    groups: pl.DataFrame
    group_members: pl.DataFrame


# A catalogue with no rows, for steps that need none (probing a plan's addresses).
EMPTY_CATALOGUE = Catalogue(
    kpis=pl.DataFrame(),
    municipalities=pl.DataFrame(),
    groups=pl.DataFrame(),
    group_members=pl.DataFrame(),
)


def fold_text(text: str) -> str:
    """Lower case without diacritics: the form searches compare."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def _folded(expr: pl.Expr) -> pl.Expr:
    return expr.str.normalize("NFKD").str.replace_all(r"\p{M}", "").str.to_lowercase()


def _matches_all_words(haystack: pl.Expr, text: str) -> pl.Expr:
    words = fold_text(text).split()
    if not words:
        return pl.lit(False)
    return pl.all_horizontal([haystack.str.contains(word, literal=True) for word in words])


def search_kpis(catalogue: Catalogue, text: str, limit: int = 50) -> pl.DataFrame:
    """KPIs whose id or title contains every word of ``text``; discontinued ones last."""
    haystack = _folded(pl.col("id") + pl.lit(" ") + pl.col("title"))
    query = fold_text(text).strip()
    return (
        catalogue.kpis.filter(_matches_all_words(haystack, text))
        .with_columns(
            _discontinued=pl.col("title").str.contains(DISCONTINUED_TITLE),
            _exact_id=pl.col("id").str.to_lowercase() == query,
            municipality_type=pl.col("municipality_type").replace_strict(
                MUNICIPALITY_TYPE_NAMES, default=pl.col("municipality_type")
            ),
        )
        .sort(["_discontinued", "_exact_id", "id"], descending=[False, True, False])
        .select(KPI_SEARCH_COLUMNS)
        .head(limit)
    )


def _areas(catalogue: Catalogue) -> pl.DataFrame:
    municipalities = catalogue.municipalities.select(
        "id",
        "title",
        kind=pl.when(pl.col("id") == RIKET_ID)
        .then(pl.lit("riket"))
        .when(pl.col("type") == "L")
        .then(pl.lit("region"))
        .otherwise(pl.lit("kommun")),
        members=pl.lit(None, dtype=pl.UInt32),
    )
    member_counts = catalogue.group_members.group_by("group_id").agg(members=pl.len())
    groups = (
        catalogue.groups.join(member_counts, left_on="id", right_on="group_id", how="left")
        .select("id", "title", kind=pl.lit("grupp"), members=pl.col("members").fill_null(0))
        .cast({"members": pl.UInt32})
    )
    return pl.concat([municipalities, groups])


def search_areas(catalogue: Catalogue, text: str, limit: int = 50) -> pl.DataFrame:
    """Municipalities, regions and groups by id or title words.

    A matching kommun brings along its "Liknande kommuner …, <kommun>, <år>" groups, the
    usual comparison groups, even when the query was its id.
    """
    areas = _areas(catalogue).with_columns(_folded_title=_folded(pl.col("title")))
    haystack = pl.col("id").str.to_lowercase() + pl.lit(" ") + pl.col("_folded_title")
    matched = areas.filter(_matches_all_words(haystack, text))
    kommun_names = matched.filter(pl.col("kind") == "kommun")["_folded_title"].to_list()
    similar_groups = areas.filter(
        (pl.col("kind") == "grupp")
        & pl.col("_folded_title").str.contains("liknande kommuner", literal=True)
        & pl.any_horizontal(
            [
                pl.col("_folded_title").str.contains(f", {name},", literal=True)
                for name in kommun_names
            ]
            or [pl.lit(False)]
        )
    )
    return (
        pl.concat([matched, similar_groups])
        .unique(subset="id", keep="first")
        .with_columns(_kind_order=pl.col("kind").replace_strict(AREA_KIND_ORDER))
        .sort(["_kind_order", "_folded_title", "id"])
        .select("id", "title", "kind", "members")
        .head(limit)
    )
