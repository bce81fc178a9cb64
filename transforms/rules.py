"""Rules malbild states in one place: Riket's id, status thresholds, operators, attribution."""

# Kolada's area id for Sweden as a whole; typed L like a region, so catalogue search and
# plan checks must tell it apart from the regions.
RIKET_ID = "0000"

# Defaults for a plan's status: section (docs/goal-plans.md); core.goal_plan stores the
# values each plan used and the goal_summary mart applies them.
DEFAULT_MET_SHARE = 2 / 3  # share of assessed indicators met that makes a goal "uppfyllt"
DEFAULT_PARTLY_SHARE = 1 / 3  # share met that makes it "delvis uppfyllt"
DEFAULT_MIN_COVERAGE = 0.5  # share of indicators with a value below which "underlag saknas"

# The operator that states "at least as good" for each direction: the default target operator
# and the one an explicit op must agree with.
BETTER_OPERATOR: dict[str, str] = {"higher": ">=", "lower": "<="}

# Text to print under a figure, by kind of data. Kolada's and SCB's terms forbid passing our
# arithmetic off as theirs, hence "derived"; the goal_indicator_status mart states the same
# texts in SQL, so change them together.
ATTRIBUTION: dict[str, str] = {
    "kolada": "Källa: Kolada",
    "scb": "Källa: SCB",
    "derived": "Egen bearbetning av data från SCB",
    "own": "Kommunens egna uppgifter",
    "sample": "Exempeldata: genererade värden, inte statistik",
}

# The source of observations made from generated sample values (malbild demo, the fakes):
# whatever source served them, they are not its statistics.
SAMPLE_SOURCE = "sample"
