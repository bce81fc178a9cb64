"""Every setting in one place: defaults a user overrides with flags, environment
variables or a settings file (`malbild.toml` in the working folder, or the file
`MALBILD_SETTINGS` names). A flag beats the environment, which beats the file.

    # malbild.toml
    [malbild]
    warehouse = "/srv/malbild/malbild.duckdb"
    kolada_rate = 3
    log_level = "WARNING"
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

WAREHOUSE_ENV = "MALBILD_WAREHOUSE"
RAW_DIR_ENV = "MALBILD_RAW_DIR"
DEFAULT_WAREHOUSE = Path("data/malbild.duckdb")
DEFAULT_PLAN_NAME = "vallentuna-2024-2026.yaml"


@dataclass(frozen=True)
class Setting:
    env: str
    default: str
    what: str


SETTINGS: tuple[Setting, ...] = (
    Setting("MALBILD_WAREHOUSE", "data/malbild.duckdb", "the warehouse file (flag --warehouse)"),
    Setting("MALBILD_RAW_DIR", "raw/ beside the warehouse", "the raw landing (--raw-dir)"),
    Setting("MALBILD_SNAPSHOT", "<warehouse>.snapshot.duckdb", "the analysts' read-only copy"),
    Setting("MALBILD_KOLADA_URL", "https://api.kolada.se/v3", "Kolada's API root"),
    Setting("MALBILD_KOLADA_RATE", "5", "Kolada requests per second"),
    Setting(
        "MALBILD_SCB_URL", "https://statistikdatabasen.scb.se/api/v2", "SCB's PxWebApi 2.0 root"
    ),
    Setting(
        "MALBILD_HTTP_ATTEMPT_SECONDS", "90", "longest one HTTP attempt may take, body included"
    ),
    Setting("MALBILD_DUCKDB_MEMORY_LIMIT", "512MB", "DuckDB's memory limit (it spills the rest)"),
    Setting("MALBILD_LOG_LEVEL", "INFO", "malbild's log level: DEBUG, INFO, WARNING, ERROR"),
    Setting("PREFECT_API_URL", "none: a temporary local API per run", "a running Prefect server"),
)
SETTINGS_FILE_ENV = "MALBILD_SETTINGS"
SETTINGS_FILE = Path("malbild.toml")


class SettingsError(ValueError):
    """A settings file that cannot be used (bad input: exit 2)."""


def apply_settings_file(path: Path | None = None) -> Path | None:
    """Put the settings file's values into the environment where it has none; the file
    read, or None when there is none. Keys are the names without `MALBILD_`, lower
    case (`warehouse`, `kolada_rate`), or the variables' own names."""
    named = path or (
        Path(os.environ[SETTINGS_FILE_ENV]) if os.environ.get(SETTINGS_FILE_ENV) else None
    )
    path = named or SETTINGS_FILE
    if not path.is_file():
        if named is not None:
            raise SettingsError(f"{path}: no such settings file ({SETTINGS_FILE_ENV})")
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: not a TOML settings file: {exc}") from exc
    table = data.get("malbild", data)
    known = {setting.env for setting in SETTINGS}
    for key, value in table.items():
        env = key.upper() if key.upper() in known else f"MALBILD_{key.upper()}"
        if env not in known or isinstance(value, dict | list):
            names = ", ".join(sorted(s.env.removeprefix("MALBILD_").lower() for s in SETTINGS))
            raise SettingsError(f"{path}: unknown setting {key!r}; known: {names}")
        os.environ.setdefault(env, str(value))
    return path


def log_level() -> str:
    """`MALBILD_LOG_LEVEL`, else INFO."""
    level = (os.environ.get("MALBILD_LOG_LEVEL") or "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError(f"MALBILD_LOG_LEVEL={level!r}: use DEBUG, INFO, WARNING or ERROR")
    return level


def default_warehouse_path() -> Path:
    """`MALBILD_WAREHOUSE`, else data/malbild.duckdb in the working directory."""
    return Path(os.environ.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE)


def default_raw_dir(warehouse_path: Path) -> Path:
    """`MALBILD_RAW_DIR`, else a `raw/` folder beside the warehouse file."""
    configured = os.environ.get(RAW_DIR_ENV)
    return Path(configured) if configured else warehouse_path.parent / "raw"


def goals_dir() -> Path:
    """The shipped goal plans: `goals/` in a checkout, `flows/goals` in an installed wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "goals", here / "goals"):
        if candidate.is_dir():
            return candidate
    return Path("goals")


def default_plan_path() -> Path:
    return goals_dir() / DEFAULT_PLAN_NAME
