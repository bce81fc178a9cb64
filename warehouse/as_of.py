"""The marts "as known at" a moment, as table macros made from the marts' own SQL.

`mart.goal_indicator_status_as_of(known_at)`, `mart.goal_summary_as_of(known_at)` and
`mart.leaderboard_as_of(known_at)` are the build query and the views of sql/marts with every
versioned table (`core.observation`, `core.kpi`, the plan tables …) read through its
`core.<table>_as_of(known_at)` macro (sql/marts/as_of/tables.sql). Made from the same text,
they cannot drift from the marts: given the time of a past run they give back what that
run's marts said.
"""

from __future__ import annotations

import re
from pathlib import Path

VERSIONED = (
    "observation",
    "kpi",
    "municipality",
    "municipality_group",
    "municipality_group_member",
    "goal_plan",
    "goal",
    "goal_indicator",
    "series",
)
_VERSIONED = re.compile(
    r"\bcore\.(" + "|".join(sorted(VERSIONED, key=len, reverse=True)) + r")\b(?!_as_of)"
)
_VIEW = re.compile(r"CREATE OR REPLACE VIEW (mart\.\w+) AS\s*(.*?);\s*$", re.DOTALL | re.MULTILINE)
BASE = "mart.goal_indicator_status_base"
# The build is run a slice of indicators at a time; as of a moment, all of them at once.
# The macros take a plan (plan_filter := 'id') so that one plan's marts are computed, not all.
PARAMETERS = {"$first_ikey": "1", "$last_ikey": "2147483647", "$plan_id": "plan_filter"}


def as_of_text(query: str, views: list[str]) -> str:
    """``query`` reading every versioned table, and each of ``views``, as known at ``known_at``."""
    text = _VERSIONED.sub(lambda found: f"core.{found.group(1)}_as_of(known_at)", query)
    for name in sorted([*views, BASE], key=len, reverse=True):
        text = re.sub(
            rf"\b{re.escape(name)}\b(?!_)",
            f"{name}_as_of(known_at, plan_filter := plan_filter)",
            text,
        )
    for parameter, value in PARAMETERS.items():
        text = text.replace(parameter, value)
    # The marts' SQL says now() for "the moment described" (membership_since).
    return text.replace("now()", "known_at")


# Views of the history itself: as of a moment they would only be cut short.
HISTORY_VIEWS = ("mart.definition_changes",)


def view_queries(folder: Path) -> dict[str, str]:
    """Each view of the marts' files (in file order) and its SELECT, history views aside."""
    found: dict[str, str] = {}
    for path in sorted(folder.glob("*.sql")):
        for match in _VIEW.finditer(path.read_text(encoding="utf-8")):
            if match.group(1) not in HISTORY_VIEWS:
                found[match.group(1)] = match.group(2)
    return found


def as_of_macros(marts: Path) -> list[str]:
    """CREATE MACRO statements: the versioned tables', the build's, then each view's."""
    statements = [(marts / "as_of" / "tables.sql").read_text(encoding="utf-8")]
    views = view_queries(marts)
    build = (marts / "build" / "goal_indicator_status_base.sql").read_text(encoding="utf-8")
    for name, query in {BASE: build, **views}.items():
        body = as_of_text(query, list(views))
        statements.append(
            f"CREATE OR REPLACE MACRO {name}_as_of(known_at, plan_filter := NULL) AS TABLE\n{body}"
        )
    return statements
