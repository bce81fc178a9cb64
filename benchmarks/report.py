"""The figures of a run: one row per figure, with its target and verdict."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    section: str
    name: str
    value: str
    target: str = ""
    met: bool | None = None  # None: informational, no target
    note: str = ""

    @property
    def verdict(self) -> str:
        return {True: "met", False: "MISSED", None: "info"}[self.met]


def figures_table(figures: list[Figure]) -> str:
    """A Markdown table: section | figure | value | target | verdict."""
    rows = [("§", "figure", "value", "target", "verdict")]
    rows += [(f.section, f.name, f.value, f.target, f.verdict) for f in figures]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]

    def line(row: tuple[str, ...]) -> str:
        return "| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |"

    separator = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(rows[0]), separator, *(line(row) for row in rows[1:])])


def notes(figures: list[Figure]) -> str:
    return "\n".join(f"- {f.section} {f.name}: {f.note}" for f in figures if f.note)
