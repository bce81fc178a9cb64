"""Every setting in one place: flags, then environment, then the settings file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flows import settings
from flows.cli import main

ROOT = Path(__file__).resolve().parent.parent


def unset(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Unset variables for the test, and whatever a settings file puts in them after."""
    for name in names:
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


def test_every_environment_variable_the_code_reads_is_a_documented_setting() -> None:
    read = set()
    for folder in ("flows", "sources", "warehouse", "transforms"):
        for path in (ROOT / folder).rglob("*.py"):
            read |= set(re.findall(r"MALBILD_[A-Z_]+", path.read_text(encoding="utf-8")))
    documented = {setting.env for setting in settings.SETTINGS} | {settings.SETTINGS_FILE_ENV}
    assert read <= documented, read - documented
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert [s.env for s in settings.SETTINGS if f"`{s.env}`" not in readme] == []


def test_the_settings_file_fills_what_the_environment_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    unset(monkeypatch, "MALBILD_WAREHOUSE")
    monkeypatch.setenv("MALBILD_KOLADA_RATE", "2")
    Path("malbild.toml").write_text(
        '[malbild]\nwarehouse = "elsewhere/w.duckdb"\nkolada_rate = 9\n', encoding="utf-8"
    )
    assert settings.apply_settings_file() == Path("malbild.toml")
    assert settings.default_warehouse_path() == Path("elsewhere/w.duckdb")
    import os

    assert os.environ["MALBILD_KOLADA_RATE"] == "2"  # the environment wins


def test_a_command_reads_the_settings_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    unset(monkeypatch, "MALBILD_WAREHOUSE")
    Path("malbild.toml").write_text('warehouse = "from-file/w.duckdb"\n', encoding="utf-8")
    assert main(["runs"]) == 1  # no warehouse there yet: the message names the file's path
    assert "from-file/w.duckdb" in capsys.readouterr().err


@pytest.mark.parametrize(
    "text, problem",
    [
        ("warehous = 'x'\n", "unknown setting 'warehous'"),
        ("warehouse = [1]\n", "unknown setting 'warehouse'"),
        ("warehouse = \n", "not a TOML settings file"),
    ],
)
def test_a_bad_settings_file_is_bad_input(
    text: str,
    problem: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    unset(monkeypatch, "MALBILD_WAREHOUSE")
    Path("malbild.toml").write_text(text, encoding="utf-8")
    assert main(["runs"]) == 2
    error = capsys.readouterr().err
    assert problem in error and len(error.strip().splitlines()) == 1


def test_a_named_settings_file_must_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MALBILD_SETTINGS", str(tmp_path / "missing.toml"))
    assert main(["runs"]) == 2
    assert "no such settings file" in capsys.readouterr().err


def test_a_bad_log_level_is_bad_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MALBILD_LOG_LEVEL", "LOUD")
    assert main(["runs", "--limit", "1"]) == 2
    assert "MALBILD_LOG_LEVEL='LOUD'" in capsys.readouterr().err
