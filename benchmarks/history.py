"""Section 10 (issue #10): history and incremental refresh.

A. *No-change refresh*: the example plan `goals/vallentuna-2024-2026.yaml`, as a daily
   run asks it (no ``--years``: the plan's years and the year before), against the fake
   Kolada and SCB (the bundled sample data, ``--latency-ms`` each) with the clients'
   default throttles (``MALBILD_KOLADA_RATE`` unset) and a Prefect server: one fresh
   `malbild run`, then ``no_change_runs`` more on the same warehouse and raw folder.
   The fakes' own request logs count the requests of each run.
B. *Storage growth of the history*: a warehouse of ``scale`` SYNTHETIC observations
   (`benchmarks/history_child.py`), then, each on a copy of it, a `load_refresh` of only
   the revised rows (0.1 %, 1 %, 5 %), revised single rows spread over the whole table
   and whole series-years (a KPI's year for every area, as Kolada republishes).
"""

from __future__ import annotations

import itertools
import os
import shutil
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks.measure import ROOT, WORK_DIR, run_child
from benchmarks.report import Figure

PLAN = ROOT / "goals" / "vallentuna-2024-2026.yaml"
REVISIONS = (0.001, 0.01, 0.05)
# How the revised rows lie in the table: single rows spread evenly over it, or whole
# series-years (a KPI's year over every area and gender, as Kolada republishes).
PATTERNS = ("spread", "series-years")
THREADS = 2
# Issue #10's targets.
BEYOND_PREFECT_TARGET_S = 3.0
FAR_BELOW_SHARE = 0.10  # the 0.1 % revision against the first load's time


@dataclass(frozen=True)
class HistorySettings:
    """What section 10 measures, and how."""

    no_change_runs: int = 3
    scale: int = 5_000_000  # observations of part B's warehouse
    revisions: tuple[float, ...] = REVISIONS
    latency_s: float = 0.05  # both fakes, part A
    prefect_server: bool = True
    warm_up: bool = True
    run_timeout_s: float = 900.0
    rss_limit_mb: float = 12_288.0


def measure_history(settings: HistorySettings, work_dir: Path = WORK_DIR) -> dict[str, Any]:
    return {
        "no_change": measure_no_change(settings, work_dir),
        "growth": measure_growth(settings, work_dir),
    }


# -- A: the no-change refresh ---------------------------------------------------------------


def measure_no_change(settings: HistorySettings, work_dir: Path = WORK_DIR) -> dict[str, Any]:
    """One fresh run of the example plan, then ``no_change_runs`` on its result."""
    from benchmarks.real_runs import (
        RealRunSettings,
        _fresh_dirs,
        _saver,
        malbild_run,
        real_run_session,
    )

    real = RealRunSettings(
        sizes=(),
        floor_kpis=(),
        latency_s=settings.latency_s,
        kolada_rate=None,  # Kolada's default throttle, as a daily run has
        years_option=False,  # the plan's own years, as a daily run asks
        prefect_server=settings.prefect_server,
        run_timeout_s=settings.run_timeout_s,
        rss_limit_mb=settings.rss_limit_mb,
        warm_up=settings.warm_up,
    )
    result: dict[str, Any] = {
        "plan": str(PLAN.relative_to(ROOT)),
        "runs": [],
        "load_before": os.getloadavg(),
    }
    saved = _saver(work_dir, "history-no-change")
    with real_run_session(real, work_dir, scb=True) as session:
        result["notes"] = session.notes
        warehouse, raw_dir = _fresh_dirs(session, "history-no-change")
        result["fresh"] = malbild_run(session, PLAN, warehouse, raw_dir, "fresh")
        saved(result)
        if result["fresh"]["ok"]:
            for _ in range(settings.no_change_runs):
                run = malbild_run(session, PLAN, warehouse, raw_dir, "no-change")
                result["runs"].append(run)
                saved(result)
                if not run["ok"]:
                    break
    result["load_after"] = os.getloadavg()
    return result


def kolada_counts(run: dict[str, Any]) -> dict[str, Any]:
    """A run's Kolada requests: data (with and without from_date) and catalogue."""
    data = run.get("data_requests", [])
    return {
        "data": len(data),
        "queries": len({text.partition("?")[0] for text in data}),
        "without_from_date": sum("from_date=" not in text for text in data),
        "catalogue": len(run.get("kolada_requests", [])) - len(data),
        "catalogue_paths": Counter(
            text.partition("?")[0] for text in run.get("kolada_requests", []) if text not in data
        ),
    }


def scb_kind(entry: dict[str, Any]) -> str:
    path = urlsplit(entry["path"]).path.rstrip("/")
    if path.endswith("/config"):
        return "config"
    if path.endswith("/metadata"):
        return "metadata"
    if path.endswith("/data"):
        return "data"
    if "/codelists/" in path:
        return "codelists"
    return "other"


def scb_counts(run: dict[str, Any]) -> dict[str, Any]:
    """A run's SCB requests by kind; the tables whose metadata it read; refusals."""
    entries = run.get("scb_requests", [])
    kinds = Counter(scb_kind(entry) for entry in entries)
    tables = {
        entry["path"].rstrip("/").split("/")[-2]
        for entry in entries
        if scb_kind(entry) in ("metadata", "data")
    }
    return {
        **{kind: kinds.get(kind, 0) for kind in ("config", "metadata", "codelists", "data")},
        "other": kinds.get("other", 0),
        "tables": len(tables),
        "refused": sum(entry.get("status") in (400, 429) for entry in entries),
    }


def prefect_startup_s(run: dict[str, Any]) -> float | None:
    """The seconds of malbild's own "Prefect startat" progress line."""
    for text, seconds in run.get("progress", []):
        if text.startswith("Prefect startat"):
            return float(seconds)
    return None


def _median(values: Sequence[float | None]) -> float | None:
    found = [value for value in values if value is not None]
    return statistics.median(found) if found else None


def _s(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f} s"


def _failure(run: dict[str, Any]) -> str:
    if run.get("stopped"):
        return f"{run['stopped']} after {run['wall_s']:.1f} s"
    return f"failed (exit {run['returncode']}) after {run['wall_s']:.1f} s: {run['stderr_tail']!r}"


def _requests_text(kolada: dict[str, Any], scb: dict[str, Any]) -> str:
    return (
        f"Kolada {kolada['data']} data ({_plural(kolada['queries'], 'query', 'queries')}) + "
        f"{kolada['catalogue']} "
        f"catalogue; SCB {scb['config']} config + {scb['metadata']} metadata"
        + (f" + {scb['codelists']} codelists" if scb["codelists"] else "")
        + f" + {scb['data']} data"
        + (f" + {scb['other']} other" if scb["other"] else "")
    )


def no_change_figures(result: dict[str, Any]) -> list[Figure]:
    fresh = result["fresh"]
    runs = result["runs"]
    name = f"no-change refresh of {Path(result['plan']).name}"
    if not fresh["ok"]:
        return [
            Figure(
                "10",
                f"fresh run of {Path(result['plan']).name}",
                _failure(fresh),
                "succeeds",
                False,
                "the no-change runs need its warehouse",
            )
        ]
    fresh_kolada, fresh_scb = kolada_counts(fresh), scb_counts(fresh)
    queries, tables = fresh_kolada["queries"], fresh_scb["tables"]
    figures = [
        Figure(
            "10",
            f"fresh run of {Path(result['plan']).name}",
            f"{fresh['wall_s']:.1f} s",
            "info",
            None,
            f"{_requests_text(fresh_kolada, fresh_scb)} ({tables} SCB tables); run log "
            + _log_text(fresh.get("run_log")),
        )
    ]
    done = [run for run in runs if run["ok"]]
    if not done:
        return [
            *figures,
            Figure("10", name, _failure(runs[0]) if runs else "not run", "succeeds", False),
        ]
    kolada = [kolada_counts(run) for run in done]
    scb = [scb_counts(run) for run in done]
    every = f"median of {len(done)}; every run: " if len(done) > 1 else ""
    data = [found["data"] for found in kolada]
    without = sum(found["without_from_date"] for found in kolada)
    figures.append(
        Figure(
            "10",
            "Kolada data requests, no-change run",
            f"{statistics.median(data):g} ({_plural(queries, 'query', 'queries')})",
            f"≤ {queries} (1 per query of the fresh run)",
            max(data) <= queries,
            f"{every}{data}; "
            + ("all with from_date" if not without else f"{without} WITHOUT from_date")
            + f"; the fresh run sent {fresh_kolada['data']} (its queries' pages)",
        )
    )
    catalogue = [found["catalogue"] for found in kolada]
    paths = ", ".join(
        f"{path.removeprefix('/v3')} ×{count}" if count > 1 else path.removeprefix("/v3")
        for path, count in kolada[0]["catalogue_paths"].items()
    )
    figures.append(
        Figure(
            "10",
            "Kolada catalogue requests, no-change run",
            f"{statistics.median(catalogue):g}",
            "info",
            None,
            f"{every}{catalogue}; {paths}: the preflight fetches the whole catalogue every run",
        )
    )
    posts = [found["data"] for found in scb]
    metadata = [found["metadata"] + found["codelists"] + found["other"] for found in scb]
    config = [found["config"] for found in scb]
    refused = sum(found["refused"] for found in scb)
    figures.append(
        Figure(
            "10",
            "SCB requests, no-change run",
            f"{statistics.median(config):g} config + {statistics.median(metadata):g} metadata"
            f" + {statistics.median(posts):g} data POSTs ({tables} tables)",
            f"≤ 1 per table ({tables}) + config; 0 data",
            max(posts) == 0 and max(metadata) <= tables and refused == 0,
            f"{every}data {posts}, metadata {metadata}, config {config}; "
            f"{refused} refused (400/429); the fresh run: {fresh_scb['config']} config + "
            f"{fresh_scb['metadata']} metadata + {fresh_scb['data']} data",
        )
    )
    walls = [run["wall_s"] for run in done]
    startups = [prefect_startup_s(run) for run in done]
    beyond = [
        run["wall_s"] - startup
        for run, startup in zip(done, startups, strict=True)
        if startup is not None
    ]
    flows = [run.get("flow_s") for run in done]
    befores = [run.get("before_flow_s") for run in done]
    figures += [
        Figure(
            "10",
            "whole no-change run (process wall time)",
            _s(_median(walls)),
            "info",
            None,
            f"{every}[{_join(walls, '.1f')}] s; peak RSS "
            f"[{_join([run['peak_rss_mb'] for run in done], '.0f')}] MB",
        ),
        Figure(
            "10",
            'Prefect\'s start-up in it ("Prefect startat")',
            _s(_median(startups)),
            "info",
            None,
            f"{every}[{', '.join(_s(s) for s in startups)}]: malbild's progress line, from "
            "connecting to the Prefect server to the flow run's start (importing Prefect, "
            "the client, creating the flow run)",
        ),
        Figure(
            "10",
            "no-change run beyond Prefect's start-up",
            _s(_median(beyond)),
            f"< {BEYOND_PREFECT_TARGET_S:g} s",
            (max(beyond) < BEYOND_PREFECT_TARGET_S) if beyond else False,
            f'process wall − the "Prefect startat" seconds, {every}'
            f"[{_join(beyond, '.1f')}] s; verdict on the slowest. Medians: {_phases(done)}",
        ),
        Figure(
            "10",
            "the no-change run's flow (Prefect API)",
            _s(_median(flows)),
            "info",
            None,
            f"{every}[{', '.join(_s(f) for f in flows)}]; the flow starts "
            f"{_s(_median(befores))} after the process; split: {_split(done)}",
        ),
    ]
    logs = [run.get("run_log") or {} for run in done]
    changed = [
        sum(int(log.get(key) or 0) for key in ("inserted", "updated", "deleted")) for log in logs
    ]
    figures.append(
        Figure(
            "10",
            "run log of the no-change runs",
            _log_text(logs[0]),
            "0 inserted / 0 revised / 0 deleted",
            all(log.get("status") == "succeeded" for log in logs) and max(changed) == 0,
            f"{every}" + "; ".join(_log_text(log) for log in logs),
        )
    )
    return figures


def _phases(runs: Sequence[dict[str, Any]]) -> str:
    """Where a run's wall time goes, from its progress lines and the Prefect API."""
    found: dict[str, list[float | None]] = {
        key: [] for key in ("start", "preflight", "prefect", "flow", "after")
    }
    for run in runs:
        preflight = next(
            (float(s) for text, s in run.get("progress", []) if text.startswith("Förkontroll")),
            None,
        )
        prefect, before, flow = prefect_startup_s(run), run.get("before_flow_s"), run.get("flow_s")
        start = after = None
        if preflight is not None and prefect is not None and before is not None:
            start = before - preflight - prefect
        if before is not None and flow is not None:
            after = run["wall_s"] - before - flow
        for key, value in zip(found, (start, preflight, prefect, flow, after), strict=True):
            found[key].append(value)
    medians = {key: _median(values) for key, values in found.items()}
    return (
        f"the process's start to the preflight (uv, imports, the run log) "
        f"{_s(medians['start'])}, the preflight (plan, probes, Kolada's catalogue) "
        f"{_s(medians['preflight'])}, Prefect's start-up {_s(medians['prefect'])}, the flow "
        f"{_s(medians['flow'])}, after the flow (summary, Prefect's shutdown, exit) "
        f"{_s(medians['after'])}"
    )


def _machine_load(result: dict[str, Any]) -> str:
    """The machine's 1-minute load average before and after (2 cores, shared)."""
    if "load_before" not in result or "load_after" not in result:
        return "load average not recorded"
    return (
        f"the machine's 1-minute load average {result['load_before'][0]:.1f} before, "
        f"{result['load_after'][0]:.1f} after ({os.cpu_count()} cores)"
    )


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else many or one + 's'}"


def _join(values: Sequence[float], spec: str) -> str:
    return ", ".join(format(value, spec) for value in values)


def _log_text(log: dict[str, Any] | None) -> str:
    if not log:
        return "no run log"
    if "error" in log and "status" not in log:
        return f"unreadable ({log['error']})"
    return (
        f"{log.get('inserted') or 0} inserted / {log.get('updated') or 0} revised / "
        f"{log.get('deleted') or 0} deleted ({log.get('unchanged') or 0} unchanged, "
        f"{log.get('status')})"
    )


def _split(runs: Sequence[dict[str, Any]]) -> str:
    parts = sorted({part for run in runs for part in run.get("split", {})})
    if not parts:
        return "n/a"
    medians = {part: _median([run.get("split", {}).get(part) for run in runs]) for part in parts}
    return ", ".join(
        f"{part} {_s(seconds).removesuffix(' s')}" for part, seconds in medians.items()
    )


# -- B: storage growth of the history ------------------------------------------------------


def _every(fraction: float) -> int:
    return max(1, round(1 / fraction))


def measure_growth(settings: HistorySettings, work_dir: Path = WORK_DIR) -> dict[str, Any]:
    """The first load of ``scale`` observations, then each revision on a copy of it."""
    from benchmarks.history_child import dimensions, series_year_rows

    folder = work_dir / "history"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    base = folder / f"history-{settings.scale}.duckdb"
    child = "benchmarks.history_child"
    series, areas = dimensions(settings.scale)
    common = {"scale": settings.scale, "threads": THREADS, "series": series, "areas": areas}
    build = run_child(
        child, {**common, "workload": "build", "warehouse": str(base)}, threads=THREADS
    )
    unit = {"spread": 1, "series-years": series_year_rows(areas)}
    revisions = []
    load_before = os.getloadavg()
    try:
        for fraction in settings.revisions:
            for pattern in PATTERNS:  # alternated: both meet the same noise
                copy = folder / "revised.duckdb"
                shutil.copyfile(base, copy)
                args = {
                    **common,
                    "workload": "revise",
                    "warehouse": str(copy),
                    "every": _every(fraction),
                    "unit": unit[pattern],
                    "label": f"{pattern}-{fraction:g}",
                }
                found = run_child(child, args, threads=THREADS)
                revisions.append({**found, "fraction": fraction, "pattern": pattern})
                copy.unlink()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "scale": settings.scale,
        "build": build,
        "revisions": revisions,
        "unit": unit,
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }


def _mb(size: float) -> str:
    return f"{size / 1e6:.1f} MB"


def _parts(parts: dict[str, float]) -> str:
    return ", ".join(
        f"{name} {seconds:.2f}" for name, seconds in sorted(parts.items(), key=lambda p: -p[1])
    )


def _percent(fraction: float) -> str:
    return f"{fraction * 100:g} %"


def growth_figures(result: dict[str, Any]) -> list[Figure]:
    build, scale = result["build"], result["scale"]
    history = build["tables"]["core.observation_history"]
    current = build["tables"]["core.observation"]
    label = f"{scale / 1e6:.2f} M" if scale >= 100_000 else f"{scale:,}"
    first_s = build["load_s"]
    figures = [
        Figure(
            "10",
            f"first load, {label} obs (SYNTHETIC) into an empty warehouse",
            f"{first_s:.1f} s (history {build['parts'].get('history', 0):.1f} s)",
            "info",
            None,
            f"load_refresh of a generated frame ({_plural(build['series'], 'KPI id')} × "
            f"{build['areas']} "
            f"areas × 2000–2024 × T/K/M, first {scale:,} rows; no plan: the marts have "
            f"nothing to build); by part: {_parts(build['parts'])} s; then "
            f"{history['rows']:,} history rows in {_mb(history['bytes'])} (core.observation "
            f"{_mb(current['bytes'])}), file {_mb(build['file_bytes'])} after CHECKPOINT "
            f"({_mb(build['used_bytes'])} used); "
            f"peak RSS {build['peak_rss_mb']:.0f} MB",
        )
    ]
    by: dict[str, list[dict[str, Any]]] = {pattern: [] for pattern in PATTERNS}
    for found in result["revisions"]:
        by[found["pattern"]].append(found)
        before, after = found["before"], found["after"]
        was = before["tables"]["core.observation_history"]
        now = after["tables"]["core.observation_history"]
        grown, size = now["rows"] - was["rows"], now["bytes"] - was["bytes"]
        rows = found["revised_rows"]
        where = (
            "single rows spread evenly"
            if found["pattern"] == "spread"
            else _plural(rows // result["unit"]["series-years"], "whole series-year")
        )
        figures.append(
            Figure(
                "10",
                f"revise {_percent(found['fraction'])}, {found['pattern']}: {rows:,} rows",
                f"{found['load_s']:.2f} s ({found['load_s'] / rows * 1e6:.0f} µs/row); "
                f"history +{grown:,} rows, +{_mb(size)}",
                "info",
                None,
                f"{where}; load_refresh of the revised rows only, on a copy of the "
                f"{label} warehouse; {found['updated']:,} revised by its counts; by part: "
                f"{_parts(found['parts'])} s; history {was['rows']:,} → {now['rows']:,} rows, "
                f"{_mb(was['bytes'])} → {_mb(now['bytes'])}; file "
                f"{_mb(before['file_bytes'])} → {_mb(after['file_bytes'])} after CHECKPOINT "
                f"({after['checkpoint_s']:.1f} s, not in the load's time; used blocks "
                f"{_mb(before['used_bytes'])} → {_mb(after['used_bytes'])}, free "
                f"{_mb(after['free_bytes'])}); peak RSS "
                f"{found['peak_rss_mb']:.0f} MB",
            )
        )
    figures.append(_proportional(by, first_s))
    peaks = [found["peak_rss_mb"] for found in result["revisions"]]
    figures.append(
        Figure(
            "10",
            "peak RSS, history storage processes",
            f"first load {build['peak_rss_mb']:.0f} MB, revisions ≤ {max(peaks, default=0):.0f} MB",
            "info",
            None,
            "VmHWM of each child process (generating the frame, the load, the CHECKPOINT); "
            + _machine_load(result),
        )
    )
    return figures


def _proportional(by: dict[str, list[dict[str, Any]]], first_s: float) -> Figure:
    """Whether a revising load's time follows the revised rows, not the table."""
    values, notes, verdicts = [], [], []
    for pattern, found in by.items():
        if len(found) < 2:
            continue
        found = sorted(found, key=lambda run: run["revised_rows"])
        low, high = found[0], found[-1]
        ratio = high["load_s"] / low["load_s"]
        rows_ratio = high["revised_rows"] / low["revised_rows"]
        share = low["load_s"] / first_s
        grows = all(b["load_s"] > a["load_s"] for a, b in itertools.pairwise(found))
        verdicts.append(grows and share <= FAR_BELOW_SHARE)
        values.append(f"{pattern} {ratio:.1f} ×")
        span = f"{_percent(high['fraction'])} / {_percent(low['fraction'])}"
        per_row = (high["load_s"] - low["load_s"]) / (high["revised_rows"] - low["revised_rows"])
        fixed = low["load_s"] - per_row * low["revised_rows"]
        notes.append(
            f"{pattern}: times [{_join([run['load_s'] for run in found], '.2f')}] s for "
            f"[{_join([run['revised_rows'] for run in found], ',')}] rows (×{rows_ratio:.0f}), "
            f"{'growing' if grows else 'NOT growing'} with them; the "
            f"{_percent(low['fraction'])} revision is {share:.0%} of the first load's "
            f"{first_s:.1f} s; a line through the ends: {fixed:.2f} s fixed + "
            f"{per_row * 1e6:.1f} µs per revised row"
        )
    if not verdicts:
        return Figure("10", "revising load ∝ revised rows", "not measured", "", None)
    return Figure(
        "10",
        f"revising load ∝ revised rows (time {span})",
        ", ".join(values),
        f"grows with the rows; smallest ≤ {FAR_BELOW_SHARE:.0%} of the first load",
        all(verdicts),
        "; ".join(notes) + ". Verdict 'met' (proportional) only if, for both patterns, "
        "the time grows with the revised rows and the smallest revision takes at most "
        f"{FAR_BELOW_SHARE:.0%} of the first load's time",
    )


def history_figures(result: dict[str, Any]) -> list[Figure]:
    figures = no_change_figures(result["no_change"])
    notes = "; ".join([*result["no_change"].get("notes", []), _machine_load(result["no_change"])])
    if notes and figures:
        last = figures[-1]
        figures[-1] = Figure(
            last.section, last.name, last.value, last.target, last.met, f"{last.note}; {notes}"
        )
    return figures + growth_figures(result["growth"])
