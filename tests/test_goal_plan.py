"""Goal plan YAML: parsing, errors a plan writer can act on, catalogue checks, frames."""

import json
import re
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from tests.catalogue_fixture import fixture_catalogue
from transforms.goal_plan import (
    GoalPlan,
    GoalPlanError,
    goal_plan_frames,
    load_goal_plan,
    parse_goal_plan,
    plan_kpi_ids,
    plan_series_ids,
    validate_goal_plan,
)

VALLENTUNA = Path(__file__).parents[1] / "goals" / "vallentuna-2024-2026.yaml"
GOAL_PLAN_DOCS = Path(__file__).parents[1] / "docs" / "goal-plans.md"
SOURCE = "goals/test.yaml"

HEADER = """\
plan:
  id: test-plan
  title: Testplan
  municipality: "0115"
  county: "0001"
  years: 2024-2026
comparisons:
  group: G37571
"""

SERIES = """\
series:
  scb:population:
    title: Folkmängd 31 december
    unit: antal
    scb:
      - {table: TAB638, content: BE0101N1, select: {Alder: tot, Kon: "1+2"}, to_year: 2024}
      - {table: TAB5557, content: 000007ME, from_year: 2025, unverified: true}
  scb:net_migration:
    scb:
      - {table: TAB1212, content: BE0101AZ, select: {Kon: 1}}
  scb:population_change_pct:
    derived: {formula: pct_change, of: scb:population}
  scb:net_migration_per_1000:
    derived: {formula: per_1000, numerator: scb:net_migration, denominator: scb:population}
"""


def plan_text(*indicators: str, goal_id: str = "mal", header: str = HEADER, extra: str = "") -> str:
    """A plan with one goal holding the given indicators (flow-style YAML mappings)."""
    items = indicators or ("{kpi: N15507, direction: higher}",)
    lines = "\n".join(f"      - {item}" for item in items)
    goal = f"goals:\n  - id: {goal_id}\n    title: Mål\n    indicators:\n{lines}\n"
    return header + extra + goal


def parse(text: str) -> GoalPlan:
    return parse_goal_plan(text, SOURCE)


def error_of(text: str) -> str:
    with pytest.raises(GoalPlanError) as raised:
        parse(text)
    return str(raised.value)


def indicator_row(*indicators: str, extra: str = "") -> dict:
    frames = goal_plan_frames(
        parse(plan_text(*indicators, extra=extra)), run_id="r", source_file=SOURCE, content_hash="h"
    )
    return frames["goal_indicator"].row(0, named=True)


# --- the shipped plan ---------------------------------------------------------------------


def test_shipped_vallentuna_plan_parses_and_validates_against_the_catalogue():
    plan = load_goal_plan(VALLENTUNA)

    validate_goal_plan(plan, fixture_catalogue())

    assert plan.id == "vallentuna-2024-2026"
    assert (plan.municipality, plan.county, plan.years) == ("0115", "0001", (2024, 2026))
    assert [goal.id for goal in plan.goals] == [
        "hog-kvalitet",
        "hallbar-tillvaxt",
        "tryggt-samhalle",
    ]
    assert len(plan_kpi_ids(plan)) == 16
    assert "N01963" not in plan_kpi_ids(plan) and "N07917" not in plan_kpi_ids(plan)


def test_shipped_plan_takes_population_change_and_dwellings_from_scb():
    plan = load_goal_plan(VALLENTUNA)
    growth = next(goal for goal in plan.goals if goal.id == "hallbar-tillvaxt")
    by_series = {i.series: i for i in growth.indicators if i.series}

    assert set(by_series) == {
        "scb:population_change_pct",
        "scb:dwellings_per_1000",
        "scb:net_migration_per_1000",
        "scb:population",
    }
    for series in ("scb:population_change_pct", "scb:dwellings_per_1000"):
        assert by_series[series].direction == "none"
        assert by_series[series].target is not None
        assert by_series[series].target.compare == "county"
    assert by_series["scb:population"].target is None
    population = plan.series["scb:population"].scb or []
    assert [(s.table, s.content) for s in population] == [
        ("TAB638", "BE0101N1"),
        ("TAB5557", "000007ME"),
    ]
    assert population[0].to_year == 2024 and population[1].from_year == 2025


def test_shipped_plan_says_its_indicators_are_proposals():
    plan = load_goal_plan(VALLENTUNA)

    assert "FÖRSLAG" in (plan.plan.note or "")
    assert "PROPOSED INDICATORS" in VALLENTUNA.read_text(encoding="utf-8")


def test_shipped_plan_follows_up_cost_without_a_direction():
    plan = load_goal_plan(VALLENTUNA)
    cost = next(p.indicator for p in plan.indicators() if p.indicator.kpi == "N00097")

    assert cost.direction == "none"
    assert cost.target is not None
    assert (cost.target.value, cost.target.op) == (0, "<=")


def test_documented_example_plan_for_umea_parses_and_validates():
    docs = GOAL_PLAN_DOCS.read_text(encoding="utf-8")
    example = next(b for b in re.findall(r"```yaml\n(.*?)```", docs, re.S) if "2480" in b)

    plan = parse_goal_plan(example, "docs/goal-plans.md")
    validate_goal_plan(plan, fixture_catalogue())

    assert (plan.municipality, plan.county, plan.default_group) == ("2480", "0024", "G37563")


# --- errors name file, goal, indicator, key and value --------------------------------------


def test_bad_direction_names_file_goal_indicator_key_and_value():
    text = plan_text(
        "{kpi: N15428, direction: higher}",
        "{kpi: N17457, direction: higher}",
        "{kpi: N15507, direction: up}",
        goal_id="hog-kvalitet",
    )

    assert error_of(text) == (
        "goals/test.yaml: goal 'hog-kvalitet', indicator 3 (N15507): "
        "direction 'up' is not one of higher, lower, none"
    )


def test_missing_direction_is_an_error_because_none_must_be_explicit():
    assert error_of(plan_text("{kpi: N15507}")) == (
        "goals/test.yaml: goal 'mal', indicator 1 (N15507): missing key 'direction'"
    )


def test_unknown_indicator_key_is_rejected_with_the_key_it_resembles():
    message = error_of(plan_text("{kpi: N15507, direction: higher, compare_whit: G36111}"))

    assert message == (
        "goals/test.yaml: goal 'mal', indicator 1 (N15507): "
        "unknown key 'compare_whit' (did you mean 'compare_with'?)"
    )


def test_unknown_top_level_key_is_rejected_listing_the_allowed_keys():
    message = error_of(plan_text(extra="settings: {}\n"))

    assert message == (
        "goals/test.yaml: unknown key 'settings' "
        "(allowed: plan, comparisons, status, series, goals)"
    )


def test_unknown_plan_key_is_rejected():
    assert "plan: unknown key 'kommun'" in error_of(
        HEADER.replace("  years:", '  kommun: "0115"\n  years:') + plan_text(header="")
    )


def test_kpi_id_must_look_like_a_kolada_id():
    assert error_of(plan_text("{kpi: X15507, direction: higher}")) == (
        "goals/test.yaml: goal 'mal', indicator 1 (X15507): "
        "kpi 'X15507' must look like N15507 or U21468"
    )


def test_indicator_needs_exactly_one_of_kpi_or_series():
    message = error_of(
        plan_text("{kpi: N15507, series: scb:population, direction: higher}", extra=SERIES)
    )

    assert message.endswith("indicator 1 (N15507): give exactly one of kpi or series")


def test_target_with_two_forms_is_rejected_showing_the_target():
    message = error_of(
        plan_text("{kpi: N07540, direction: lower, target: {rank: 50, compare: county}}")
    )

    assert message == (
        "goals/test.yaml: goal 'mal', indicator 1 (N07540): target {compare: county, rank: 50}: "
        "give exactly one of value, compare, rank, colour (got compare, rank)"
    )


def test_target_without_direction_needs_an_operator():
    message = error_of(plan_text("{kpi: N00097, direction: none, target: {value: 0}}"))

    assert message == (
        "goals/test.yaml: goal 'mal', indicator 1 (N00097): "
        "target {value: 0} needs op (>=, <=, >, <) when direction is none"
    )


def test_rank_target_needs_a_direction():
    message = error_of(plan_text("{kpi: N01963, direction: none, target: {rank: 10}}"))

    assert message.endswith("(N01963): target rank needs direction higher or lower, not none")


def test_operator_contradicting_the_direction_is_rejected():
    message = error_of(
        plan_text('{kpi: N15507, direction: higher, target: {compare: riket, op: "<="}}')
    )

    assert message.endswith("(N15507): target op '<=' contradicts direction higher")


def test_unknown_colour_is_rejected():
    message = error_of(plan_text("{kpi: N15507, direction: higher, target: {colour: red}}"))

    assert message.endswith("(N15507): target.colour 'red' is not one of green, yellow")


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", ".NaN"])
def test_infinite_or_nan_target_value_is_rejected_naming_indicator_and_key(value):
    message = error_of(plan_text(f"{{kpi: N15507, direction: higher, target: {{value: {value}}}}}"))

    assert message.startswith("goals/test.yaml: goal 'mal', indicator 1 (N15507): target.value ")
    assert message.endswith("input should be a finite number")


@pytest.mark.parametrize("value", ["true", "'5'"])
def test_target_value_that_is_not_a_number_is_rejected_as_written(value):
    message = error_of(plan_text(f"{{kpi: N15507, direction: higher, target: {{value: {value}}}}}"))

    assert message == (
        "goals/test.yaml: goal 'mal', indicator 1 (N15507): "
        f"target.value {value}: input should be a valid number"
    )


@pytest.mark.parametrize("rank", ["0", "-3", "2.5", "2.0", ".inf", ".nan", "true", "'3'"])
def test_rank_target_that_is_not_a_positive_integer_is_rejected(rank):
    message = error_of(plan_text(f"{{kpi: N07540, direction: lower, target: {{rank: {rank}}}}}"))

    assert message.startswith("goals/test.yaml: goal 'mal', indicator 1 (N07540): target.rank ")


def test_lone_surrogate_escape_is_rejected_with_line_and_a_printable_message():
    text = plan_text().replace("title: Mål", 'title: "M\\ud800l"')

    message = error_of(text)

    assert message == (
        "goals/test.yaml: not valid YAML: line 11, column 12: "
        "'\\ud800' is a lone surrogate, not a character (UTF-8 cannot hold it)"
    )
    message.encode("utf-8")  # the CLI prints it


def test_lone_surrogate_in_a_key_is_rejected():
    text = plan_text().replace("title: Mål", 'title: Mål\n    "\\udfff": x')

    assert "'\\udfff' is a lone surrogate" in error_of(text)


def test_unquoted_operator_gets_a_yaml_error_with_line_and_hint():
    message = error_of(plan_text("{kpi: N00097, direction: none, target: {value: 0, op: >=}}"))

    assert message.startswith("goals/test.yaml: not valid YAML: line 13, column ")
    assert message.endswith('(quote operators: op: ">=")')


def test_duplicate_yaml_key_is_rejected_instead_of_silently_overwritten():
    text = plan_text("{kpi: N15507, direction: higher}").replace(
        "  years: 2024-2026\n", "  years: 2024-2026\n  years: 2020-2022\n"
    )

    assert (
        error_of(text) == "goals/test.yaml: not valid YAML: line 7, column 3: duplicate key 'years'"
    )


def test_plan_that_is_not_a_mapping_is_rejected():
    assert error_of("- just\n- a list\n") == (
        "goals/test.yaml: expected a mapping with plan: and goals: at the top"
    )


def test_goals_must_not_be_empty():
    assert (
        error_of(HEADER + "goals: []\n") == "goals/test.yaml: goals [] must list at least one entry"
    )


def test_goal_id_must_be_a_slug():
    message = error_of(plan_text(goal_id="Hög kvalitet"))

    assert message == (
        "goals/test.yaml: goal 'Hög kvalitet': id 'Hög kvalitet' must look like "
        "'hog-kvalitet' (a-z, 0-9, -)"
    )


def test_plan_id_must_be_a_slug():
    message = error_of(plan_text(header=HEADER.replace("id: test-plan", "id: Test_Plan")))

    assert message.startswith("goals/test.yaml: plan: id 'Test_Plan' must look like")


def test_every_problem_is_listed_one_per_line():
    message = error_of(plan_text("{kpi: N1, direction: up}", "{kpi: N15507}"))

    assert message.splitlines() == [
        "goals/test.yaml: goal 'mal', indicator 1 (N1): kpi 'N1' must look like N15507 or U21468",
        "goals/test.yaml: goal 'mal', indicator 1 (N1): "
        "direction 'up' is not one of higher, lower, none",
        "goals/test.yaml: goal 'mal', indicator 2 (N15507): missing key 'direction'",
    ]


# --- ids and cross references ------------------------------------------------------------


def test_same_indicator_id_twice_in_a_plan_is_rejected():
    second_goal = (
        "  - id: annat-mal\n    title: Annat\n    indicators:\n"
        "      - {kpi: N15507, direction: higher}\n"
    )
    text = plan_text("{kpi: N15507, direction: higher}") + second_goal

    assert error_of(text) == (
        "goals/test.yaml: goal 'annat-mal', indicator 1 (N15507): id 'N15507' is already used "
        "by goal 'mal', indicator 1; set id: to tell them apart"
    )


def test_explicit_indicator_id_lets_a_kpi_appear_twice():
    plan = parse(
        plan_text(
            "{kpi: N15507, direction: higher}",
            "{kpi: N15507, id: N15507-riket, direction: higher, target: {compare: riket}}",
        )
    )

    assert [p.indicator.indicator_id for p in plan.indicators()] == ["N15507", "N15507-riket"]


def test_same_goal_id_twice_is_rejected():
    text = (
        plan_text()
        + "  - id: mal\n    title: Igen\n    indicators:\n"
        + "      - {kpi: N15428, direction: higher}\n"
    )

    assert error_of(text) == "goals/test.yaml: goal 2: id 'mal' is already used by goal 1"


def test_indicator_series_must_be_declared():
    assert error_of(plan_text("{series: scb:population, direction: higher}")) == (
        "goals/test.yaml: goal 'mal', indicator 1 (scb:population): "
        "series 'scb:population' is not declared under series:"
    )


def test_derived_series_must_reference_declared_series():
    extra = "series:\n  scb:change:\n    derived: {formula: pct_change, of: scb:population}\n"

    assert error_of(plan_text(extra=extra)) == (
        "goals/test.yaml: series 'scb:change': derived.of 'scb:population' is not declared "
        "under series:"
    )


def test_derived_series_must_not_form_a_cycle():
    extra = textwrap.dedent(
        """\
        series:
          scb:a: {derived: {formula: pct_change, of: scb:b}}
          scb:b: {derived: {formula: pct_change, of: scb:a}}
        """
    )

    assert error_of(plan_text(extra=extra)) == (
        "goals/test.yaml: series 'scb:a': derived series form a cycle: scb:a -> scb:b -> scb:a"
    )


def test_per_1000_needs_numerator_and_denominator():
    extra = "series:\n  scb:x: {derived: {formula: per_1000, numerator: scb:x}}\n"

    assert error_of(plan_text(extra=extra)) == (
        "goals/test.yaml: series 'scb:x': derived {formula: per_1000, numerator: 'scb:x'}: "
        "formula per_1000 takes denominator and numerator, got numerator"
    )


def test_series_needs_exactly_one_of_scb_or_derived():
    extra = "series:\n  scb:x: {title: Något}\n"

    assert error_of(plan_text(extra=extra)) == (
        "goals/test.yaml: series 'scb:x': give exactly one of scb, derived or file (got none)"
    )


def test_scb_segment_errors_name_series_and_segment():
    extra = (
        "series:\n  scb:x:\n    scb:\n"
        "      - {table: TAB638, content: A}\n      - {table: 638, content: B}\n"
    )

    assert error_of(plan_text(extra=extra)) == (
        "goals/test.yaml: series 'scb:x', segment 2: table 638 must look like TAB638"
    )


def test_series_id_must_name_its_source():
    extra = "series:\n  population: {derived: {formula: pct_change, of: scb:p}}\n"

    assert error_of(plan_text(extra=extra)) == (
        "goals/test.yaml: series: id 'population' must look like scb:population (source:name)"
    )


def test_scb_series_specs_are_exposed_with_numeric_codes_as_text():
    plan = parse(plan_text(extra=SERIES))
    segments = plan.series["scb:population"].scb or []

    assert [(s.table, s.content, s.to_year, s.from_year) for s in segments] == [
        ("TAB638", "BE0101N1", 2024, None),
        ("TAB5557", "000007ME", None, 2025),
    ]
    assert segments[1].unverified is True
    assert (plan.series["scb:net_migration"].scb or [])[0].select == {"Kon": "1"}


def test_county_target_needs_a_county():
    header = HEADER.replace('  county: "0001"\n', "")

    assert error_of(
        plan_text("{kpi: N07403, direction: lower, target: {compare: county}}", header=header)
    ) == (
        "goals/test.yaml: goal 'mal', indicator 1 (N07403): target compare 'county' needs a "
        "county: under plan:"
    )


def test_peer_target_needs_a_comparison_group():
    header = HEADER.replace("comparisons:\n  group: G37571\n", "")

    assert error_of(
        plan_text("{kpi: N15507, direction: higher, target: {compare: peers}}", header=header)
    ).endswith("target compare 'peers' needs compare_with: or a group: under comparisons:")


# --- plan header ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("years", "expected"),
    [("2024-2026", (2024, 2026)), ("2025", (2025, 2025)), ("{from: 2023, to: 2026}", (2023, 2026))],
)
def test_years_are_accepted_as_span_single_year_or_mapping(years, expected):
    assert parse(plan_text(header=HEADER.replace("2024-2026", years))).years == expected


@pytest.mark.parametrize(
    ("years", "problem"),
    [
        ("2026-2024", "years '2026-2024' starts after it ends (2026 > 2024)"),
        ("2024/2026", "years '2024/2026' must be a span such as 2024-2026"),
        ("1024-2026", "years '1024-2026' is not a year between 1970 and 2100"),
    ],
)
def test_malformed_years_are_rejected(years, problem):
    assert error_of(plan_text(header=HEADER.replace("2024-2026", years))) == (
        f"goals/test.yaml: plan: {problem}"
    )


def test_zero_padded_municipality_code_stays_text_even_unquoted():
    plan = parse(plan_text(header=HEADER.replace('"0115"', "0115")))

    assert plan.municipality == "0115"


def test_municipality_code_must_have_four_digits():
    assert error_of(plan_text(header=HEADER.replace('"0115"', "115"))) == (
        'goals/test.yaml: plan: municipality 115 must be a quoted four-digit code such as "0115"'
    )


def test_status_thresholds_default_to_two_thirds_and_one_third():
    status = parse(plan_text()).status

    assert (status.met_share, status.partly_share, status.min_coverage) == (2 / 3, 1 / 3, 0.5)


def test_status_partly_share_above_met_share_is_rejected():
    message = error_of(plan_text(extra="status: {met_share: 0.5, partly_share: 0.6}\n"))

    assert message == (
        "goals/test.yaml: status {met_share: 0.5, partly_share: 0.6}: need 0 < partly_share "
        "<= met_share <= 1, got partly_share 0.6 and met_share 0.5"
    )


def test_status_min_coverage_of_zero_is_rejected():
    assert error_of(plan_text(extra="status: {min_coverage: 0}\n")) == (
        "goals/test.yaml: status: min_coverage 0: input should be greater than 0"
    )


@pytest.mark.parametrize("key", ["met_share", "partly_share", "min_coverage"])
@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_status_share_that_is_nan_or_infinite_is_rejected(key, value):
    message = error_of(plan_text(extra=f"status: {{{key}: {value}}}\n"))

    assert message.startswith(f"goals/test.yaml: status: {key} ")
    assert message.endswith("input should be a finite number")


def test_file_that_is_not_utf8_is_a_goal_plan_error_naming_the_byte(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(plan_text().encode("latin-1"))  # "Mål" as one byte, 0xe5

    with pytest.raises(GoalPlanError) as raised:
        load_goal_plan(path)

    offset = plan_text().index("å")
    assert str(raised.value) == (
        f"{path}: not UTF-8 at byte {offset} (line 11): save the file as UTF-8"
    )


def test_missing_file_is_a_goal_plan_error(tmp_path):
    with pytest.raises(GoalPlanError, match=r"nope\.yaml: cannot read the file"):
        load_goal_plan(tmp_path / "nope.yaml")


# --- checks against the Kolada catalogue -----------------------------------------------------


def catalogue_problems(text: str) -> list[str]:
    with pytest.raises(GoalPlanError) as raised:
        validate_goal_plan(parse(text), fixture_catalogue())
    return raised.value.problems


def test_unknown_kpi_is_reported_with_goal_and_indicator():
    assert catalogue_problems(plan_text("{kpi: N99999, direction: higher}")) == [
        "goals/test.yaml: goal 'mal', indicator 1 (N99999): "
        "kpi 'N99999' is not in the Kolada catalogue"
    ]


def test_region_only_kpi_is_reported_for_a_kommun_plan():
    assert catalogue_problems(plan_text("{kpi: N00334, direction: higher}")) == [
        "goals/test.yaml: goal 'mal', indicator 1 (N00334): kpi 'N00334' is published for "
        "regions only, but municipality '0115' is a kommun"
    ]


def test_county_must_be_a_region_not_riket():
    header = HEADER.replace('county: "0001"', 'county: "0000"')

    assert catalogue_problems(plan_text(header=header)) == [
        "goals/test.yaml: plan: county '0000' is not a Kolada region (type L, not Riket 0000)"
    ]


def test_county_must_not_be_a_kommun():
    header = HEADER.replace('county: "0001"', 'county: "0114"')

    assert catalogue_problems(plan_text(header=header)) == [
        "goals/test.yaml: plan: county '0114' is not a Kolada region (type L, not Riket 0000)"
    ]


def test_every_catalogue_problem_is_collected():
    header = HEADER.replace('"0115"', '"0002"').replace("G37571", "G1")
    problems = catalogue_problems(
        plan_text(
            "{kpi: N99999, direction: higher}",
            "{kpi: N15507, direction: higher, compare_with: G2}",
            header=header,
        )
    )

    assert problems == [
        "goals/test.yaml: plan: municipality '0002' is not a Kolada municipality or region",
        "goals/test.yaml: comparisons: group 'G1' is not a Kolada municipality group",
        "goals/test.yaml: goal 'mal', indicator 1 (N99999): "
        "kpi 'N99999' is not in the Kolada catalogue",
        "goals/test.yaml: goal 'mal', indicator 2 (N15507): compare_with 'G2' is not a Kolada "
        "municipality group",
    ]


# --- frames for the warehouse -----------------------------------------------------------------

ARCHITECTURE_COLUMNS = {
    "goal_plan": "plan_id, title, vision, municipality_id, county_id, first_year, last_year, "
    "default_group_id, status_met_share, status_partly_share, status_min_coverage, note, "
    "source_file, content_hash, definition, run_id, loaded_at",
    "goal": "plan_id, goal_id, position, title, description",
    "goal_indicator": "plan_id, goal_id, indicator_id, position, source, series_id, title, "
    "direction, comparison_group_id, from_year, target_kind, target_operator, target_value, "
    "target_reference, target_colour, target_text, note, unavailable_reason",
    "series": "series_id, source, title, unit, table_ids, definition, attribution",
}


def test_frames_have_exactly_the_architecture_columns():
    frames = goal_plan_frames(
        load_goal_plan(VALLENTUNA), run_id="r", source_file=str(VALLENTUNA), content_hash="h"
    )

    assert {name: frame.columns for name, frame in frames.items()} == {
        name: columns.split(", ") for name, columns in ARCHITECTURE_COLUMNS.items()
    }


def test_goal_plan_frame_carries_provenance_and_the_full_definition():
    loaded_at = datetime(2026, 11, 29, 12, tzinfo=UTC)
    frames = goal_plan_frames(
        parse(plan_text()),
        run_id="run-1",
        source_file=SOURCE,
        content_hash="abc",
        loaded_at=loaded_at,
    )
    row = frames["goal_plan"].row(0, named=True)

    assert (row["run_id"], row["source_file"], row["content_hash"]) == ("run-1", SOURCE, "abc")
    assert (row["first_year"], row["last_year"], row["default_group_id"]) == (2024, 2026, "G37571")
    assert row["loaded_at"] == loaded_at
    assert json.loads(row["definition"])["goals"][0]["indicators"][0]["kpi"] == "N15507"


def test_compare_target_takes_its_operator_from_the_direction():
    row = indicator_row("{kpi: N07403, direction: lower, target: {compare: county}}")

    assert (row["target_kind"], row["target_operator"], row["target_reference"]) == (
        "compare",
        "<=",
        "county",
    )
    assert row["target_text"] == "högst som länet"


def test_peer_target_reads_liknande_kommuner_and_uses_the_indicator_group():
    row = indicator_row(
        "{kpi: N15507, direction: higher, compare_with: G36111, target: {compare: peers}}"
    )

    assert row["target_text"] == "minst som jämförelsegruppen"
    assert row["comparison_group_id"] == "G36111"


def test_indicator_without_compare_with_uses_the_default_group():
    assert indicator_row("{kpi: N15507, direction: higher}")["comparison_group_id"] == "G37571"


def test_value_target_with_direction_none_keeps_its_operator_and_no_direction():
    row = indicator_row('{kpi: N00097, direction: none, target: {value: 0, op: "<="}}')

    assert (row["direction"], row["target_operator"], row["target_value"]) == (None, "<=", 0.0)
    assert row["target_text"] == "högst 0"


def test_value_target_without_op_takes_the_better_side_of_the_direction():
    row = indicator_row("{kpi: N15507, direction: higher, target: {value: 230.5}}")

    assert (row["target_operator"], row["target_text"]) == (">=", "minst 230,5")


def test_rank_target_is_a_maximum_rank():
    row = indicator_row("{kpi: N07540, direction: lower, target: {rank: 50}}")

    assert (row["target_kind"], row["target_operator"], row["target_value"]) == ("rank", "<=", 50.0)
    assert row["target_text"] == "plats 50 eller bättre"


def test_colour_target_names_the_colour_in_swedish():
    row = indicator_row("{kpi: N15507, direction: higher, target: {colour: green}}")

    assert (row["target_kind"], row["target_colour"], row["target_text"]) == (
        "colour",
        "green",
        "grön",
    )


def test_indicator_without_target_has_no_target_columns():
    row = indicator_row("{kpi: N15507, direction: higher}")

    assert [row[k] for k in row if k.startswith("target_")] == [None] * 6


def test_series_indicator_rows_carry_the_series_source_and_title():
    row = indicator_row("{series: scb:population_change_pct, direction: none}", extra=SERIES)

    assert (row["source"], row["series_id"], row["indicator_id"]) == (
        "derived",
        "scb:population_change_pct",
        "scb:population_change_pct",
    )


def test_series_frame_lists_tables_and_does_not_attribute_derived_figures_to_scb():
    frames = goal_plan_frames(
        parse(plan_text(extra=SERIES)), run_id="r", source_file=SOURCE, content_hash="h"
    )
    rows = {row["series_id"]: row for row in frames["series"].iter_rows(named=True)}

    assert rows["scb:population"]["table_ids"] == ["TAB5557", "TAB638"]
    assert rows["scb:population"]["attribution"] == "Källa: SCB"
    assert rows["scb:net_migration_per_1000"]["table_ids"] == ["TAB1212", "TAB5557", "TAB638"]
    assert rows["scb:net_migration_per_1000"]["source"] == "derived"
    assert rows["scb:net_migration_per_1000"]["attribution"] == "Egen bearbetning av data från SCB"
    assert frames["series"].schema["table_ids"] == pl.List(pl.String)


# --- helpers -----------------------------------------------------------------------------------


def test_plan_series_ids_lists_inputs_before_derived_series():
    extra = textwrap.dedent(
        """\
        series:
          scb:rate: {derived: {formula: per_1000, numerator: scb:flow, denominator: scb:stock}}
          scb:flow: {scb: [{table: TAB1212, content: BE0101AZ}]}
          scb:stock: {scb: [{table: TAB638, content: BE0101N1}]}
        """
    )

    assert plan_series_ids(parse(plan_text(extra=extra))) == ["scb:flow", "scb:stock", "scb:rate"]


def test_plan_kpi_ids_lists_each_kpi_once_in_file_order():
    plan = parse(
        plan_text(
            "{kpi: N15507, direction: higher}",
            "{kpi: N07403, direction: lower}",
            "{kpi: N15507, id: merit-2, direction: higher}",
        )
    )

    assert plan_kpi_ids(plan) == ["N15507", "N07403"]


def test_fetch_years_adds_the_year_before_the_plan():
    assert list(parse(plan_text()).fetch_years(None)) == [2023, 2024, 2025, 2026]


def test_fetch_years_override_is_taken_exactly():
    assert list(parse(plan_text()).fetch_years((2018, 2020))) == [2018, 2019, 2020]
