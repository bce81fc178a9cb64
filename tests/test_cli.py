"""The plan-writing commands (`check`, `kpis`, `areas`, `tables`) against the fake APIs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.kolada_server import FakeKolada
from fakes.sample_data import sample_kolada
from fakes.scb_server import FakeScbServer
from flows.cli import main
from flows.settings import default_plan_path


@pytest.fixture(scope="module")
def kolada() -> Iterator[FakeKolada]:
    with FakeKolada(**sample_kolada()) as fake:
        yield fake


@pytest.fixture
def apis(kolada: FakeKolada, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeKolada:
    monkeypatch.setenv("MALBILD_KOLADA_URL", kolada.base_url)
    monkeypatch.setenv("MALBILD_WAREHOUSE", str(tmp_path / "none.duckdb"))
    return kolada


def test_check_accepts_the_shipped_plan_against_the_real_catalogue(apis, capsys):
    assert main(["check", str(default_plan_path())]) == 0

    assert "OK — plan vallentuna-2024-2026, 3 goals" in capsys.readouterr().out


def test_check_names_file_goal_and_value_and_exits_2(apis, capsys, tmp_path: Path):
    plan = tmp_path / "umea.yaml"
    text = default_plan_path().read_text(encoding="utf-8").replace("kpi: N15428", "kpi: N99998")
    plan.write_text(text, encoding="utf-8")

    assert main(["check", str(plan)]) == 2

    error = capsys.readouterr().err
    assert "umea.yaml" in error and "hog-kvalitet" in error and "N99998" in error


def test_kpis_finds_a_kpi_by_words_of_its_title(apis, capsys):
    assert main(["kpis", "meritvärde åk 9 hemkommun"]) == 0

    assert "N15507" in capsys.readouterr().out


def test_areas_lists_a_kommun_with_its_similar_municipality_groups(apis, capsys):
    assert main(["areas", "Vallentuna"]) == 0

    out = capsys.readouterr().out
    assert "0115" in out and "G37571" in out and "G36111" in out


def test_tables_searches_scb_and_shows_a_tables_variables(monkeypatch, capsys):
    with FakeScbServer() as scb:
        monkeypatch.setenv("MALBILD_SCB_URL", scb.base_url)
        assert main(["tables", "TAB2538"]) == 0

    out = capsys.readouterr().out
    assert "BO0101A5" in out and "Hustyp" in out and "Flow" in out


def test_tables_search_lists_matching_tables(monkeypatch, capsys):
    with FakeScbServer() as scb:
        monkeypatch.setenv("MALBILD_SCB_URL", scb.base_url)
        assert main(["tables", "flyttningar"]) == 0

    out = capsys.readouterr().out
    assert "TAB1212" in out and "TAB2538" not in out
