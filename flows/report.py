"""Run summaries for people: the Prefect Markdown artifact and the terminal's last lines."""

from __future__ import annotations

import polars as pl

from flows.pipeline import RefreshResult

SAMPLE_LABEL = "SAMPLE DATA (generated values, not real statistics)"
STATUS_ORDER = ("uppfyllt", "delvis uppfyllt", "ej uppfyllt", "underlag saknas")


def latest_goal_rows(summary: pl.DataFrame) -> pl.DataFrame:
    """Each goal's row for the latest year in which it has at least one value."""
    if summary.is_empty():
        return summary
    with_data = summary.filter(pl.col("with_value") > 0)
    source = with_data if not with_data.is_empty() else summary
    return source.sort("year").group_by("goal_id", maintain_order=True).last().sort("goal_id")


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
        f"- Warehouse rows: {result.counts.inserted:,} inserted, {result.counts.updated:,} updated,"
        f" {result.counts.unchanged:,} unchanged",
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
    lines += ["", "## Warnings", ""]
    lines += [f"- {warning}" for warning in result.warnings] or ["None."]
    return "\n".join(lines) + "\n"


def refresh_terminal_summary(result: RefreshResult) -> str:
    """A few lines for the end of `malbild run`."""
    label = SAMPLE_LABEL + " — " if result.sample_data else ""
    lines = [
        f"{label}run {result.run_id}: plan {result.plan_id}, "
        f"years {result.years[0]}–{result.years[1]}",
        f"  {result.requests_made} requests, {result.observations:,} observations; warehouse "
        f"{result.counts.inserted:,} inserted, {result.counts.updated:,} updated, "
        f"{result.counts.unchanged:,} unchanged",
    ]
    for row in latest_goal_rows(result.summary).iter_rows(named=True):
        lines.append(
            f"  {row['goal_id']:<20} {row['year']}  {row['status']:<16} "
            f"green {row['green']}, yellow {row['yellow']}, red {row['red']}, grey {row['grey']}"
        )
    if result.warnings:
        lines.append(f"  {len(result.warnings)} warnings:")
        lines += [f"    - {warning}" for warning in result.warnings]
    return "\n".join(lines)
