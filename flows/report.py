"""Run summaries for people: the Prefect Markdown artifact and the terminal's last lines."""

from __future__ import annotations

import polars as pl

from flows.pipeline import Changes, RefreshResult

SAMPLE_LABEL = "SAMPLE DATA (generated values, not real statistics)"
STATUS_ORDER = ("uppfyllt", "delvis uppfyllt", "ej uppfyllt", "underlag saknas")


def latest_goal_rows(summary: pl.DataFrame) -> pl.DataFrame:
    """Each goal's row for the latest year in which it has at least one value."""
    if summary.is_empty():
        return summary
    with_data = summary.filter(pl.col("with_value") > 0)
    source = with_data if not with_data.is_empty() else summary
    return source.sort("year").group_by("goal_id", maintain_order=True).last().sort("goal_id")


NO_CHANGES = "inga ändringar"


def sv_number(value: float | None) -> str:
    """A value the Swedish way: "231,3", "1 234,5"; "–" when absent."""
    if value is None:
        return "–"
    text = f"{value:,.3f}".rstrip("0").rstrip(".")
    return text.replace(",", " ").replace(".", ",")


def change_lines(changes: Changes) -> list[str]:
    """One line per indicator and year that changed, then one per goal whose status did:
    "N15507 2024 reviderat 231,3 → 229,8; färg gul → grön"."""
    lines = []
    for row in changes.indicators.iter_rows(named=True):
        parts = []
        if row["change"] == "reviderat":
            parts.append(f"reviderat {sv_number(row['old_value'])} → {sv_number(row['new_value'])}")
        elif row["change"] == "nytt":
            parts.append(f"nytt {sv_number(row['new_value'])}")
        elif row["change"] == "borttaget":
            parts.append(f"borttaget (var {sv_number(row['old_value'])})")
        for label, old, new in (
            ("rang", row["old_rank"], row["new_rank"]),
            ("färg", row["old_colour"], row["new_colour"]),
            ("målvärde", row["old_target"], row["new_target"]),
        ):
            if old == new:
                continue
            if row["change"] == "nytt":
                parts.append(f"{label} {_shown(new)}")
            else:
                parts.append(f"{label} {_shown(old)} → {_shown(new)}")
        lead = row["series_id"] or row["indicator_id"]
        if row["series_id"] and row["indicator_id"] != row["series_id"]:
            lead = f"{row['series_id']} ({row['indicator_id']})"
        lines.append(f"{lead} {row['year']} " + "; ".join(parts))
    for row in changes.goals.iter_rows(named=True):
        old, new = _shown(row["old_status"]), _shown(row["new_status"])
        lines.append(f"mål {row['goal_id']} {row['year']}: {old} → {new}")
    return lines


def _shown(value: object) -> str:
    return "–" if value is None else str(value)


def changed_anything(result: RefreshResult) -> bool:
    """Whether the run added, revised or deleted a value (else: "inga ändringar")."""
    return result.counts.changed


def refresh_markdown(result: RefreshResult) -> str:
    """The run summary as Markdown: fetched, changed, warnings, goal status."""
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(result.requests_by_kind.items()))
    lines = [
        f"# malbild refresh `{result.run_id}`",
        "",
        *([f"**{SAMPLE_LABEL}**", ""] if result.sample_data else []),
        f"- Plan: `{result.plan_id}`, years {result.years[0]}–{result.years[1]}",
        f"- Requests: {result.requests_made} ({kinds})",
        f"- Observations fetched: {result.observations:,}",
        f"- Warehouse rows: {result.counts.inserted:,} inserted, {result.counts.updated:,} revised,"
        f" {result.counts.unchanged:,} unchanged, {result.counts.deleted:,} deleted"
        + ("" if changed_anything(result) else f" — {NO_CHANGES}"),
        "",
        "## Goal status (latest year with data)",
        "",
        "| goal | year | status | green | yellow | red | grey | targets met | targets missed |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in latest_goal_rows(result.summary).iter_rows(named=True):
        lines.append(
            f"| {row['goal_id']} | {row['year']} | {row['status']} | {row['green']} |"
            f" {row['yellow']} | {row['red']} | {row['grey']} | {row['targets_met']} |"
            f" {row['targets_missed']} |"
        )
    if not result.changes.empty:
        lines += ["", f"## Ändringar för {result.plan_id} sedan förra körningen", ""]
        lines += [f"- {line}" for line in change_lines(result.changes)]
    lines += ["", "## Warnings", ""]
    lines += [f"- {warning}" for warning in result.warnings] or ["None."]
    return "\n".join(lines) + "\n"
