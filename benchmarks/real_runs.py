"""Sections 8 and 9: real `malbild run` processes end to end, and the raw fetch floor.

A measurement session (``real_run_session``) starts the fake Kolada in its own process
(and the fake SCB when asked), a Prefect server in the background, and gives every run
``PREFECT_API_URL``, ``MALBILD_KOLADA_URL`` and ``MALBILD_KOLADA_RATE`` (lifted: 1000
requests/s). Every measured run is a fresh process:

    uv run malbild run --plan P --warehouse W --years 2000-2024 --raw-dir R

timed by the wall clock, with its peak RSS from ``os.wait4`` (and the process tree's,
sampled from /proc), its flow run's duration and task runs from the Prefect API.

- Section 8: national plans of about 1 M, 5 M and 14 M observations (the first kommun
  KPIs by id published through 2024, ``benchmarks.synthetic``), each run into an empty
  warehouse and raw folder ("fresh"), then the same run again on its result
  ("no-change"); pairs alternate fresh, no-change, fresh, no-change …
- Section 9: the 100- and 400-KPI plans: a fresh malbild run against the raw fetch
  floor (``benchmarks.floor_child``: a plain ``requests`` loop over the same data
  pages), alternated run, floor, run, floor …; the ratio of the medians.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.fakes_running import RunningFake
from benchmarks.goal_plans import synthetic_plan_text
from benchmarks.measure import WORK_DIR, run_child, run_process
from benchmarks.prefect_server import (
    PrefectServer,
    flow_runs_since,
    parse_time,
    prefect_env,
    run_seconds,
    task_runs_of,
    task_split,
)
from benchmarks.report import Figure
from benchmarks.synthetic import first_kpis, kpis_for

MALBILD_COMMAND = ("uv", "run", "malbild")
DEFAULT_SIZES = (1_000_000, 5_000_000, 14_000_000)
DEFAULT_FLOOR_KPIS = (100, 400)
LIFTED_RATE = 1000.0  # Kolada requests per second: no throttle in practice
KOLADA_RATE_ENV = "MALBILD_KOLADA_RATE"
# Issue #9's targets.
RSS_TARGET_MB = 1024.0  # a whole run at 14 M observations
RSS_TARGET_AT = 14_000_000
RSS_FLAT_MB = 300.0  # 1 M against 14 M
FLOOR_RATIO_TARGET = 1.5
OUTSIDE_FLOW_TARGET_S = 2.0
SPLIT_PARTS = ("fetch", "parse", "load", "marts")
KINDS = ("fresh", "no-change")


@dataclass(frozen=True)
class RealRunSettings:
    """What sections 8 and 9 measure, and how."""

    sizes: tuple[int, ...] = DEFAULT_SIZES  # observations (section 8)
    floor_kpis: tuple[int, ...] = DEFAULT_FLOOR_KPIS  # KPIs (section 9)
    years: tuple[int, int] = (2000, 2024)
    pairs: int = 3
    latency_s: float = 0.0
    # MALBILD_KOLADA_RATE for every run; None leaves it unset: Kolada's default throttle.
    kolada_rate: float | None = LIFTED_RATE
    # False: no --years, the plan's own years (and the year before), as a daily run.
    years_option: bool = True
    prefect_server: bool = True  # False: each run starts Prefect's temporary API
    run_timeout_s: float = 1800.0
    rss_limit_mb: float = 12_288.0  # the harness ends a run whose tree goes above this
    budget_s: float | None = None  # per plan: no further pair once a pair would pass it
    # One unmeasured tiny run first: the server has seen the flow once, as a server that
    # runs the refresh every day has (the first run against a new server registers it).
    warm_up: bool = True

    @property
    def year_list(self) -> list[int]:
        return list(range(self.years[0], self.years[1] + 1))

    @property
    def years_arg(self) -> str:
        return f"{self.years[0]}-{self.years[1]}"


@dataclass
class RealRunSession:
    """The fakes, the Prefect server and the environment every run of a session gets."""

    work_dir: Path
    settings: RealRunSettings
    kolada: RunningFake
    scb: RunningFake | None = None
    server: PrefectServer | None = None
    log_seen: int = 0
    scb_seen: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def api_url(self) -> str | None:
        return self.server.api_url if self.server else None

    def env(self) -> dict[str, str]:
        """A run's whole environment."""
        env = {**os.environ, **prefect_env(self.work_dir / "prefect-home")}
        env.pop("PREFECT_API_URL", None)
        env.pop("MALBILD_WAREHOUSE", None)
        env.pop("MALBILD_RAW_DIR", None)
        env["MALBILD_KOLADA_URL"] = self.kolada.base_url
        env.pop(KOLADA_RATE_ENV, None)
        if self.settings.kolada_rate is not None:
            env[KOLADA_RATE_ENV] = f"{self.settings.kolada_rate:g}"
        if self.scb is not None:
            env["MALBILD_SCB_URL"] = self.scb.base_url
        if self.server is not None:
            env["PREFECT_API_URL"] = self.server.api_url
        return env

    def new_requests(self) -> dict[str, list[dict[str, Any]]]:
        """What each fake answered since the last call (of this or ``data_requests``):
        Kolada's log entries (method, path, query, data) and SCB's (method, path,
        status, data), in order."""
        log = self.kolada.log()
        found = {"kolada": log[self.log_seen :]}
        self.log_seen = len(log)
        if self.scb is not None:
            scb = self.scb.log()
            found["scb"] = scb[self.scb_seen :]
            self.scb_seen = len(scb)
        return found

    def data_requests(self) -> list[str]:
        """The Kolada data requests (path and query) since the last call, in order."""
        return [kolada_text(entry) for entry in self.new_requests()["kolada"] if entry["data"]]


def kolada_text(entry: dict[str, Any]) -> str:
    """A Kolada log entry as ``path?query`` (the query's keys sorted)."""
    return entry["path"] + "?" + "&".join(f"{k}={v}" for k, v in sorted(entry["query"].items()))


@contextmanager
def real_run_session(
    settings: RealRunSettings, work_dir: Path = WORK_DIR, *, scb: bool = False
) -> Iterator[RealRunSession]:
    """Fake Kolada (and SCB) in their own processes and a Prefect server, for one session."""
    work_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        kolada = RunningFake("kolada", settings.latency_s)
        stack.callback(kolada.stop)
        fake_scb = None
        if scb:
            fake_scb = RunningFake("scb", settings.latency_s)
            stack.callback(fake_scb.stop)
        server = None
        if settings.prefect_server:
            server = stack.enter_context(PrefectServer(work_dir / "prefect-home"))
        session = RealRunSession(work_dir, settings, kolada, fake_scb, server)
        if server is not None:
            session.notes.append(
                f"Prefect server {server.api_url} answered /api/health after "
                f"{server.startup_s:.1f} s"
            )
        if settings.warm_up:
            kpi_ids, _ = first_kpis(1, len(settings.year_list))
            plan = write_plan(session, "warm-up", kpi_ids)
            warehouse, raw_dir = _fresh_dirs(session, "warm-up")
            first = malbild_run(session, plan, warehouse, raw_dir, "warm-up")
            session.notes.append(
                f"an unmeasured warm-up run (1 KPI) took {first['wall_s']:.1f} s"
                + ("" if first["ok"] else f", {_failure(first)}")
            )
        yield session


# -- one run ----------------------------------------------------------------------------

PROGRESS_LINE = re.compile(r"^\s*[✓✗] (.+?)\s+\((\d+(?:\.\d+)?) s\)\s*$")


def malbild_run(
    session: RealRunSession, plan: Path, warehouse: Path, raw_dir: Path, kind: str
) -> dict[str, Any]:
    """One `malbild run` process, measured; what the Prefect API and the run log say."""
    settings = session.settings
    command = [
        *MALBILD_COMMAND,
        "run",
        "--plan",
        str(plan),
        "--warehouse",
        str(warehouse),
        *(["--years", settings.years_arg] if settings.years_option else []),
        "--raw-dir",
        str(raw_dir),
    ]
    session.new_requests()  # what came before is not this run's
    since = datetime.now(UTC) - timedelta(milliseconds=100)
    started_at = datetime.now(UTC)
    done = run_process(
        command,
        env=session.env(),
        log_dir=session.work_dir,
        timeout=settings.run_timeout_s,
        rss_limit_mb=settings.rss_limit_mb,
    )
    result: dict[str, Any] = {
        "kind": kind,
        "ok": done.returncode == 0 and done.stopped is None,
        "returncode": done.returncode,
        "stopped": done.stopped,
        "wall_s": done.wall_s,
        "peak_rss_mb": done.peak_rss_mb,
        "tree_rss_mb": done.tree_rss_mb,
        "tree_hwm_mb": done.tree_hwm_mb,
        "progress": [
            [found.group(1), float(found.group(2))]
            for line in done.stderr.splitlines()
            if (found := PROGRESS_LINE.match(line))
        ],
        "stderr_tail": "\n".join(done.stderr.strip().splitlines()[-6:]),
        "run_log": _run_log(warehouse),
    }
    requests = session.new_requests()
    result["data_requests"] = [kolada_text(entry) for entry in requests["kolada"] if entry["data"]]
    result["kolada_requests"] = [kolada_text(entry) for entry in requests["kolada"]]
    if "scb" in requests:
        result["scb_requests"] = requests["scb"]
    if session.api_url:
        result.update(_flow_figures(session.api_url, since, started_at, done.wall_s))
    return result


def _flow_figures(
    api_url: str, since: datetime, started_at: datetime, wall_s: float
) -> dict[str, Any]:
    try:
        flows = flow_runs_since(api_url, since)
    except Exception as exc:  # the figures of the run stand without the API's
        return {"flow_error": f"{type(exc).__name__}: {exc}"}
    if not flows:
        return {"flow_error": "no flow run was recorded"}
    flow = max(flows, key=lambda run: run_seconds(run) or 0.0)
    seconds = run_seconds(flow)
    found: dict[str, Any] = {
        "flow_run": flow.get("name"),
        "flow_state": flow.get("state_name") or flow.get("state_type"),
        "flow_s": seconds,
        "outside_flow_s": None if seconds is None else wall_s - seconds,
        "flow_runs": len(flows),
    }
    if (start := parse_time(flow.get("start_time"))) is not None:
        # From the process's start to the flow's: uv, imports, preflight, Prefect's client.
        found["before_flow_s"] = (start - started_at).total_seconds()
    try:
        tasks = task_runs_of(api_url, flow["id"])
    except Exception as exc:
        found["flow_error"] = f"task runs: {type(exc).__name__}: {exc}"
        return found
    split = task_split(tasks)
    found["split"], found["split_tasks"] = split["seconds"], split["tasks"]
    found["task_runs"] = len(tasks)
    return found


def _run_log(warehouse: Path) -> dict[str, Any] | None:
    """The run's line in the warehouse's run log (the latest refresh)."""
    if not warehouse.exists():
        return None
    try:
        import duckdb

        with duckdb.connect(str(warehouse), read_only=True) as con:
            row = con.execute(
                "SELECT status, requests_made, rows_inserted, rows_updated, rows_unchanged, "
                "rows_deleted, error FROM core.run WHERE kind = 'refresh' "
                "ORDER BY started_at DESC LIMIT 1"
            ).fetchone()
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    if row is None:
        return None
    keys = ("status", "requests", "inserted", "updated", "unchanged", "deleted", "error")
    return dict(zip(keys, row, strict=True))


def floor_run(session: RealRunSession, kpi_ids: Sequence[str]) -> dict[str, Any]:
    """The raw fetch floor over the plan's data pages, in a fresh process."""
    session.data_requests()
    result = run_child(
        "benchmarks.floor_child",
        {
            "kolada_url": session.kolada.base_url,
            "kpi_ids": list(kpi_ids),
            "years": session.settings.year_list,
        },
    )
    return {**result, "data_requests": session.data_requests()}


# -- the plans --------------------------------------------------------------------------


def write_plan(session: RealRunSession, label: str, kpi_ids: Sequence[str]) -> Path:
    first, last = session.settings.years
    path = session.work_dir / "real" / "plans" / f"{label}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(synthetic_plan_text(list(kpi_ids), first, last), encoding="utf-8")
    return path


def _fresh_dirs(session: RealRunSession, label: str) -> tuple[Path, Path]:
    folder = session.work_dir / "real" / label
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder / "warehouse.duckdb", folder / "raw"


def _warm_up(session: RealRunSession, kpi_ids: Sequence[str]) -> None:
    """One unmeasured floor pass: the fake has built (and cached what it caches of) the
    plan's pages before the first measured run, as it has before every later one."""
    floor_run(session, kpi_ids)


def _more_pairs(settings: RealRunSettings, pair: int, started: float) -> bool:
    if pair + 1 >= settings.pairs:
        return False
    if settings.budget_s is None:
        return True
    spent = time.perf_counter() - started
    return spent / (pair + 1) * (pair + 2) <= settings.budget_s


# -- section 8 --------------------------------------------------------------------------


def measure_real_runs(session: RealRunSession) -> dict[str, Any]:
    """Section 8: per size, pairs of a fresh run and a no-change run.

    The figures so far are saved after every run (``work/real/real-runs-*.json``).
    """
    settings = session.settings
    sizes: dict[str, Any] = {}
    result = {"sizes": sizes, "settings": asdict(settings), "notes": session.notes}
    saved = _saver(session.work_dir, "real-runs")
    for size in settings.sizes:
        kpi_ids, expected = kpis_for(size, len(settings.year_list))
        label = f"size-{size}"
        plan = write_plan(session, label, kpi_ids)
        _warm_up(session, kpi_ids)
        runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
        sizes[str(size)] = {
            "size": size,
            "kpis": len(kpi_ids),
            "expected_observations": expected,
            "runs": runs,
        }
        started = time.perf_counter()
        for pair in range(settings.pairs):
            warehouse, raw_dir = _fresh_dirs(session, label)
            fresh = malbild_run(session, plan, warehouse, raw_dir, "fresh")
            runs["fresh"].append(fresh)
            saved(result)
            if not fresh["ok"]:
                break  # a failed run would fail again; its figure is recorded
            again = malbild_run(session, plan, warehouse, raw_dir, "no-change")
            runs["no-change"].append(again)
            saved(result)
            if not again["ok"] or not _more_pairs(settings, pair, started):
                break
    return result


# -- section 9 --------------------------------------------------------------------------


def measure_floor_ratio(session: RealRunSession) -> dict[str, Any]:
    """Section 9: per plan, a fresh malbild run and the raw fetch floor, alternated."""
    settings = session.settings
    plans: dict[str, Any] = {}
    result = {"plans": plans, "settings": asdict(settings), "notes": session.notes}
    saved = _saver(session.work_dir, "fetch-floor")
    for count in settings.floor_kpis:
        kpi_ids, expected = first_kpis(count, len(settings.year_list))
        label = f"kpis-{count}"
        plan = write_plan(session, label, kpi_ids)
        _warm_up(session, kpi_ids)
        runs: list[dict[str, Any]] = []
        floors: list[dict[str, Any]] = []
        plans[str(count)] = {
            "kpis": len(kpi_ids),
            "expected_observations": expected,
            "runs": runs,
            "floors": floors,
        }
        started = time.perf_counter()
        for pair in range(settings.pairs):
            warehouse, raw_dir = _fresh_dirs(session, label)
            runs.append(malbild_run(session, plan, warehouse, raw_dir, "fresh"))
            saved(result)
            floors.append(floor_run(session, kpi_ids))
            saved(result)
            if not runs[-1]["ok"] or not _more_pairs(settings, pair, started):
                break
    return result


def _saver(work_dir: Path, name: str) -> Callable[[dict[str, Any]], None]:
    """Every run's figures as JSON beside the work files (the table shows medians),
    rewritten after each run so that an interrupted session keeps what it measured."""
    path = work_dir / "real" / f"{name}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.parent.mkdir(parents=True, exist_ok=True)

    def save(result: dict[str, Any]) -> None:
        path.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")

    return save


# -- figures ----------------------------------------------------------------------------


def _median(values: Sequence[float | None]) -> float | None:
    found = [value for value in values if value is not None]
    return statistics.median(found) if found else None


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _observations(runs: Sequence[dict[str, Any]], expected: int) -> int:
    for run in runs:
        log = run.get("run_log") or {}
        if log.get("inserted") is not None:
            return int(log["inserted"] or 0) + int(log["updated"] or 0) + int(log["unchanged"] or 0)
    return expected


def _failure(run: dict[str, Any]) -> str:
    if run["stopped"]:  # "timed out after 900 s", "stopped above … MB RSS"
        return f"{run['stopped']} (ended {run['wall_s']:.1f} s after its start)"
    return f"failed (exit {run['returncode']}) after {run['wall_s']:.1f} s"


def _split_text(runs: Sequence[dict[str, Any]]) -> str:
    if not any("split" in run for run in runs):
        return "split: n/a (no Prefect API)"
    medians = {
        part: _median([run.get("split", {}).get(part) for run in runs])
        for part in {part for run in runs for part in run.get("split", {})}
    }
    named = [f"{part} {_seconds(medians.pop(part, None))}" for part in SPLIT_PARTS]
    named += [f"{part} {_seconds(seconds)}" for part, seconds in sorted(medians.items())]
    return ", ".join(named)


def _runs_note(runs: Sequence[dict[str, Any]]) -> str:
    walls = ", ".join(f"{run['wall_s']:.1f}" for run in runs)
    peaks = ", ".join(f"{run['peak_rss_mb']:.0f}" for run in runs)
    trees = ", ".join(f"{run['tree_rss_mb']:.0f}" for run in runs)
    flows = ", ".join(_seconds(run.get("flow_s")) for run in runs)
    tasks = sorted(
        {name for run in runs for names in run.get("split_tasks", {}).values() for name in names}
    )
    text = (
        f"runs [{walls}] s, flow runs [{flows}] s, ru_maxrss [{peaks}] MB, "
        f"tree RSS sum [{trees}] MB"
    )
    if tasks:
        text += f"; task runs: {', '.join(tasks)}"
    if (requests := runs[0].get("data_requests")) is not None:
        text += f"; {len(requests)} Kolada data requests"
    failed = [run for run in runs if not run["ok"]]
    if failed:
        text += (
            f"; {_failure(failed[0])} ({_split_text(failed[:1])} of the tasks that ended): "
            f"{failed[0]['stderr_tail']!r}"
        )
    return text


def _size_label(observations: int, kpis: int) -> str:
    if observations < 100_000:
        return f"{observations:,} obs ({kpis} KPIs)"
    return f"{observations / 1e6:.2f} M obs ({kpis} KPIs)"


def real_run_figures(result: dict[str, Any]) -> list[Figure]:
    figures: list[Figure] = []
    peaks: dict[int, float] = {}
    for entry in result["sizes"].values():
        runs = entry["runs"]
        observations = _observations(runs["fresh"], entry["expected_observations"])
        label = _size_label(observations, entry["kpis"])
        peak_by_kind: dict[str, float | None] = {}
        outside: dict[str, float | None] = {}
        before: dict[str, float | None] = {}
        for kind in KINDS:
            done = [run for run in runs[kind] if run["ok"]]
            if not runs[kind]:
                figures.append(
                    Figure(
                        "8",
                        f"{kind} run, {label}",
                        "not run",
                        "info",
                        None,
                        "the fresh run before it failed",
                    )
                )
                continue
            if not done:
                figures.append(
                    Figure(
                        "8",
                        f"{kind} run, {label}",
                        _failure(runs[kind][0]),
                        "succeeds",
                        False,
                        _runs_note(runs[kind]),
                    )
                )
            else:
                wall = _median([run["wall_s"] for run in done])
                figures.append(
                    Figure(
                        "8",
                        f"{kind} run, {label}",
                        f"{wall:.1f} s ({_split_text(done)})",
                        "info",
                        None,
                        f"median of {len(done)}; " + _runs_note(runs[kind]),
                    )
                )
            # A failed run's memory counts too: it is what the run needed until then.
            peak_by_kind[kind] = max(run["peak_rss_mb"] for run in runs[kind])
            outside[kind] = _median([run.get("outside_flow_s") for run in done])
            before[kind] = _median([run.get("before_flow_s") for run in done])
        if not peak_by_kind:
            continue
        peak = max(value for value in peak_by_kind.values() if value is not None)
        peaks[entry["size"]] = peak
        at_target = entry["size"] >= RSS_TARGET_AT
        figures.append(
            Figure(
                "8",
                f"peak RSS of a whole run, {label}",
                " / ".join(
                    f"{kind} {value:.0f} MB"
                    for kind, value in peak_by_kind.items()
                    if value is not None
                ),
                f"≤ {RSS_TARGET_MB:.0f} MB" if at_target else "info",
                peak <= RSS_TARGET_MB if at_target else None,
                "ru_maxrss of os.wait4 on `uv run malbild run …`: the largest single process "
                "of the run (malbild's Python; uv's own is smaller), highest of the runs",
            )
        )
        known = {kind: value for kind, value in outside.items() if value is not None}
        parts = "; ".join(
            f"{kind}: {before[kind]:.1f} s before the flow, {value - before[kind]:.1f} s after"
            for kind, value in known.items()
            if before.get(kind) is not None
        )
        figures.append(
            Figure(
                "8",
                f"time outside the flow, {label}",
                " / ".join(f"{kind} {value:.1f} s" for kind, value in known.items())
                or "n/a (no flow run from the Prefect API)",
                f"< {OUTSIDE_FLOW_TARGET_S:g} s",
                all(value < OUTSIDE_FLOW_TARGET_S for value in known.values()) if known else None,
                "process wall time − the flow run's start-to-end time (Prefect API), medians; "
                "before the flow: uv, Python start-up and imports, the preflight (plan, "
                "probe, catalogue), Prefect's client and the flow run's creation; after it: "
                "the summary, Prefect's shutdown, the process's exit"
                + (f" ({parts})" if parts else ""),
            )
        )
    if len(peaks) >= 2:
        small, large = min(peaks), max(peaks)
        growth = peaks[large] - peaks[small]
        figures.append(
            Figure(
                "8",
                f"peak RSS growth, {large / 1e6:.1f} M vs {small / 1e6:.1f} M obs",
                f"{growth:+.0f} MB ({peaks[small]:.0f} → {peaks[large]:.0f} MB)",
                f"< {RSS_FLAT_MB:.0f} MB",
                growth < RSS_FLAT_MB,
                "highest peak RSS (fresh or no-change run) at each size",
            )
        )
    return figures


def floor_figures(result: dict[str, Any]) -> list[Figure]:
    figures: list[Figure] = []
    for entry in result["plans"].values():
        runs, floors = entry["runs"], entry["floors"]
        observations = _observations(runs, entry["expected_observations"])
        label = _size_label(observations, entry["kpis"])
        done = [run for run in runs if run["ok"]]
        floor = _median([found["seconds"] for found in floors])
        pages = floors[0]["pages"] if floors else 0
        if not floors or not runs:
            same = "URLs not compared"
        elif Counter(runs[0]["data_requests"]) == Counter(floors[0]["data_requests"]):
            same = "the same data URLs as malbild's"
        else:
            same = "DATA URLS DIFFER from malbild's" + ("" if runs[0]["ok"] else " (it failed)")
        note = (
            f"pairs alternated run, floor ×{len(runs)}; floor runs "
            f"[{', '.join(format(f['seconds'], '.2f') for f in floors)}] s over {pages} pages "
            f"({sum(f['bytes'] for f in floors[:1]) / 1e6:.0f} MB), {same}; malbild: "
            + _runs_note(runs)
        )
        target = f"≤ {FLOOR_RATIO_TARGET:g} ×"
        if not done or floor is None:
            value = _failure(runs[0]) if runs else "not run"
            if runs and floor and runs[0]["stopped"]:
                value += f": ≥ {runs[0]['wall_s'] / floor:.0f} × the floor's {floor:.2f} s"
            figures.append(
                Figure("9", f"malbild run vs raw fetch floor, {label}", value, target, False, note)
            )
            continue
        wall = _median([run["wall_s"] for run in done])
        assert wall is not None
        ratio = wall / floor
        fetch = _median([run.get("split", {}).get("fetch") for run in done])
        if fetch is not None:
            note += f"; the flow's fetch tasks alone {fetch:.1f} s = {fetch / floor:.2f} × floor"
        figures.append(
            Figure(
                "9",
                f"malbild run vs raw fetch floor, {label}",
                f"{wall:.1f} s / {floor:.2f} s = {ratio:.2f} ×",
                target,
                ratio <= FLOOR_RATIO_TARGET,
                note,
            )
        )
    return figures
