"""Where things are: defaults a user can override with flags or environment variables."""

from __future__ import annotations

import os
from pathlib import Path

WAREHOUSE_ENV = "MALBILD_WAREHOUSE"
RAW_DIR_ENV = "MALBILD_RAW_DIR"
DEFAULT_WAREHOUSE = Path("data/malbild.duckdb")
DEFAULT_PLAN_NAME = "vallentuna-2024-2026.yaml"


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
