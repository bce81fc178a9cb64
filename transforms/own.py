"""A municipality's own measurements (a CSV or .xlsx file beside its plan) → observations.

Pure: the file's bytes come in, frames go out. The file has a header in row 1 and one
measurement per row: ``area``/``område``, ``year``/``år``, ``value``/``värde`` and,
optionally, ``gender``/``kön``. Every error names the file, the row as a spreadsheet
shows it (the header is row 1), the column as written in the header and the bad value.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import PurePosixPath
from typing import Any

import polars as pl

from transforms.schema import OBSERVATION_KEY, OBSERVATION_SCHEMA

SOURCE = "own"

# Header (case-folded, trimmed) → the column it names.
COLUMN_NAMES = {
    "area": "area",
    "område": "area",
    "year": "year",
    "år": "year",
    "value": "value",
    "värde": "value",
    "gender": "gender",
    "kön": "gender",
}
REQUIRED_COLUMNS = ("area", "year", "value")
ALLOWED = "area (område), year (år), value (värde), gender (kön, optional)"

GENDER_NAMES = {"t": "T", "k": "K", "m": "M", "totalt": "T", "kvinnor": "K", "män": "M"}
DEFAULT_GENDER = "T"

FIRST_YEAR, LAST_YEAR = 1970, 2100

FRAME_SCHEMA: dict[str, pl.DataType] = {
    "area": pl.String(),
    "year": pl.Int32(),
    "gender": pl.String(),
    "value": pl.Float64(),
    "row": pl.Int32(),
}

_YEAR = re.compile(r"^\d{4}$")
_CODE = re.compile(r"^\d{1,4}$")
# Thousands grouped by a space only in threes, so "12 5" is a typo rather than 125.
_GROUPED = re.compile(r"^[+-]?\d{1,3}(?: \d{3})+(?:[.,]\d+)?$")
_PLAIN = re.compile(r"^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)$")
# Non-breaking and narrow no-break spaces are what Excel and Word put between thousands.
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2007": " ", "\t": " "})
# Excel cells that are neither numbers nor text: a year typed as a date is not a year.
_NOT_TEXT = (bool, datetime, date, time)

COMMA_HINT = ' (in a comma-separated file a decimal comma needs quotes: "12,5")'


class OwnFileError(ValueError):
    """A municipality's own data file that cannot be read; the message says where and why."""


# (column, cell, what is wrong) → the error naming file, row, column and cell.
_Fail = Callable[[str, Any, str], OwnFileError]


@dataclass(frozen=True)
class _Header:
    """The file's columns: position of each known column and its name as written."""

    positions: dict[str, int]
    written: dict[str, str]


def own_file_to_frame(body: bytes, *, file_name: str) -> pl.DataFrame:
    """A CSV or .xlsx file's rows as ``area, year, gender, value, row`` (row = file row)."""
    frame, _ = _read(body, file_name)
    return frame


def resolve_areas(
    frame: pl.DataFrame,
    municipalities: pl.DataFrame,
    *,
    file_name: str,
    area_column: str = "area",
) -> pl.DataFrame:
    """The frame with ``municipality_id`` (Kolada's four-digit code) added after ``area``."""
    # area_column: the header as the file wrote it ('område', 'Area'), for the messages.
    index = _AreaIndex(municipalities)
    ids = [
        index.resolve(area, row, file_name=file_name, column=area_column)
        for area, row in zip(frame.get_column("area"), frame.get_column("row"), strict=True)
    ]
    resolved = frame.with_columns(pl.Series("municipality_id", ids, dtype=pl.String)).select(
        "area", "municipality_id", *[c for c in frame.columns if c != "area"]
    )
    # "Vallentuna" and "0115" are the same area: duplicates show only once resolved.
    _refuse_duplicates(
        resolved, ("municipality_id", "year", "gender"), file_name=file_name, column=area_column
    )
    return resolved


def own_file_to_observations(
    body: bytes,
    *,
    file_name: str,
    series_id: str,
    municipalities: pl.DataFrame,
    response_hash: str,
) -> pl.DataFrame:
    """The file as observations (``OBSERVATION_SCHEMA``, source own, table_id the file name)."""
    frame, header = _read(body, file_name)
    resolved = resolve_areas(
        frame, municipalities, file_name=file_name, area_column=header.written["area"]
    )
    return (
        resolved.select(
            pl.lit(SOURCE).alias("source"),
            pl.lit(series_id).alias("series_id"),
            pl.col("municipality_id"),
            pl.col("year"),
            pl.col("gender"),
            pl.col("value"),
            pl.lit(None, dtype=pl.Int32).alias("count"),
            pl.lit(None, dtype=pl.String).alias("status"),
            pl.lit(False).alias("is_deleted"),
            pl.lit(file_name).alias("table_id"),
            pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias("source_updated"),
            pl.lit(response_hash).alias("response_hash"),
        )
        .cast(pl.Schema(OBSERVATION_SCHEMA))
        .select(list(OBSERVATION_SCHEMA))
        .sort(OBSERVATION_KEY)
    )


# --- reading -------------------------------------------------------------------------


def _read(body: bytes, file_name: str) -> tuple[pl.DataFrame, _Header]:
    suffix = PurePosixPath(file_name.replace("\\", "/")).suffix.casefold()
    if suffix == ".csv":
        rows, separator = _csv_rows(body, file_name)
        if separator == ",":
            return _rows_to_frame(rows, file_name, COMMA_HINT)
        return _rows_to_frame(rows, file_name)
    if suffix == ".xlsx":
        return _rows_to_frame(_xlsx_rows(body, file_name), file_name)
    raise OwnFileError(
        f"{file_name}: unsupported file type {suffix or '(no suffix)'!r}; "
        "use a .csv or an .xlsx file"
    )


def _csv_rows(body: bytes, file_name: str) -> tuple[list[list[Any]], str]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        row = body[: error.start].count(b"\n") + 1
        raise OwnFileError(
            f"{file_name}: row {row}: byte 0x{body[error.start]:02X} is not UTF-8; "
            'save the file as "CSV UTF-8"'
        ) from None
    first_line = text.split("\n", 1)[0]
    # The header holds no numbers, so it alone tells the separator: a decimal comma
    # in the data rows cannot mislead it.
    separator = "," if first_line.count(",") > first_line.count(";") else ";"
    try:
        rows = [
            list(cells) for cells in csv.reader(io.StringIO(text, newline=""), delimiter=separator)
        ]
    except csv.Error as error:
        raise OwnFileError(f"{file_name}: not a readable CSV file: {error}") from None
    return rows, separator


def _xlsx_rows(body: bytes, file_name: str) -> list[list[Any]]:
    # Imported here: only files that are spreadsheets pay for openpyxl.
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(body), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as error:
        raise OwnFileError(f"{file_name}: not a readable .xlsx workbook ({error})") from None
    try:
        if not workbook.worksheets:
            raise OwnFileError(f"{file_name}: the workbook has no sheet")
        sheet = workbook.worksheets[0]
        return [list(cells) for cells in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _rows_to_frame(
    rows: list[list[Any]], file_name: str, extra_hint: str = ""
) -> tuple[pl.DataFrame, _Header]:
    if not rows or _is_empty(rows[0]):
        raise OwnFileError(
            f"{file_name}: row 1 is empty; the header (area;year;value or "
            "område;år;värde) must be row 1"
        )
    header = _header(rows[0], rows[1:], file_name)
    width = len(rows[0])
    records: dict[str, list[Any]] = {name: [] for name in FRAME_SCHEMA}
    for number, cells in enumerate(rows[1:], start=2):
        if _is_empty(cells):
            continue
        extra = [cell for cell in cells[width:] if not _is_blank(cell)]
        if extra:
            raise OwnFileError(
                f"{file_name}: row {number}: {len(cells)} cells but the header has {width}; "
                f"{_text(extra[0])!r} has no column{extra_hint}"
            )

        def cell(name: str, cells: Sequence[Any] = cells) -> Any:
            position = header.positions.get(name)
            if position is None or position >= len(cells):
                return None
            return cells[position]

        def fail(name: str, value: Any, problem: str, number: int = number) -> OwnFileError:
            return OwnFileError(
                f"{file_name}: row {number}, column {header.written[name]!r}: "
                f"{_text(value)!r} {problem}"
            )

        records["area"].append(_area(cell("area"), fail))
        records["year"].append(_year(cell("year"), fail))
        records["gender"].append(_gender(cell("gender"), fail))
        records["value"].append(_value(cell("value"), fail))
        records["row"].append(number)
    if not records["row"]:
        raise OwnFileError(f"{file_name}: no data rows below the header")
    frame = pl.DataFrame(records, schema=FRAME_SCHEMA)
    _refuse_duplicates(
        frame, ("area", "year", "gender"), file_name=file_name, column=header.written["area"]
    )
    return frame, header


def _header(cells: Sequence[Any], data: Sequence[Sequence[Any]], file_name: str) -> _Header:
    positions: dict[str, int] = {}
    written: dict[str, str] = {}
    unknown: list[str] = []
    for position, raw in enumerate(cells):
        name = _text(raw).strip()
        if not name:
            # Spreadsheets leave trailing separators or formatted blank columns; only
            # a nameless column that holds data is a mistake.
            filled = next(
                (
                    (number, row[position])
                    for number, row in enumerate(data, start=2)
                    if position < len(row) and not _is_blank(row[position])
                ),
                None,
            )
            if filled:
                raise OwnFileError(
                    f"{file_name}: row {filled[0]}, column {position + 1} (no name in row 1): "
                    f"{_text(filled[1])!r} is in a column without a header; "
                    f"the columns are {ALLOWED}"
                )
            continue
        column = COLUMN_NAMES.get(name.casefold())
        if column is None:
            unknown.append(name)
        elif column in positions:
            raise OwnFileError(
                f"{file_name}: row 1, column {name!r}: a second {column} column "
                f"(column {written[column]!r} is the first); keep one"
            )
        else:
            positions[column] = position
            written[column] = name
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        raise OwnFileError(
            f"{file_name}: row 1: unknown column{'s' if len(unknown) > 1 else ''} {names}; "
            f"the columns are {ALLOWED}"
        )
    missing = [name for name in REQUIRED_COLUMNS if name not in positions]
    if missing:
        found = ", ".join(repr(name) for name in written.values()) or "none"
        raise OwnFileError(
            f"{file_name}: row 1: missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (found {found}); the columns are {ALLOWED}"
        )
    written.setdefault("gender", "gender")
    return _Header(positions, written)


# --- cells ---------------------------------------------------------------------------


def _area(raw: Any, fail: _Fail) -> str:
    if isinstance(raw, _NOT_TEXT):
        raise fail("area", raw, "is not an area (a name such as Vallentuna or a code such as 0115)")
    text = _text(raw).strip()
    if not text:
        raise fail("area", raw, "is empty; every row needs an area")
    return text


def _year(raw: Any, fail: _Fail) -> int:
    problem = f"is not a year (four digits, {FIRST_YEAR}–{LAST_YEAR})"
    if isinstance(raw, _NOT_TEXT):
        raise fail("year", raw, problem)
    if isinstance(raw, float) and not raw.is_integer():
        raise fail("year", raw, problem)
    text = _text(raw).strip()
    if not _YEAR.match(text) or not FIRST_YEAR <= int(text) <= LAST_YEAR:
        raise fail("year", raw, problem)
    return int(text)


def _gender(raw: Any, fail: _Fail) -> str:
    text = _text(raw).strip()
    if not text:
        return DEFAULT_GENDER
    gender = GENDER_NAMES.get(text.casefold())
    if gender is None:
        raise fail("gender", raw, "is not a gender (T, K, M or totalt, kvinnor, män)")
    return gender


def _value(raw: Any, fail: _Fail) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, _NOT_TEXT):
        raise fail("value", raw, "is not a number")
    if isinstance(raw, (int, float)):
        return float(raw)
    text = str(raw).translate(_SPACES).strip().replace("\u2212", "-")
    if not text:
        return None
    if not (_PLAIN.match(text) or _GROUPED.match(text)):
        raise fail("value", raw, "is not a number")
    return float(text.replace(" ", "").replace(",", "."))


def _text(raw: Any) -> str:
    """A cell as text; Excel's whole numbers (an area code 115, a year 2024.0) without '.0'."""
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


def _is_blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _is_empty(cells: Iterable[Any]) -> bool:
    return all(_is_blank(cell) for cell in cells)


def _refuse_duplicates(
    frame: pl.DataFrame, key: Sequence[str], *, file_name: str, column: str
) -> None:
    seen: dict[tuple[Any, ...], tuple[int, str]] = {}
    for record in frame.select(*dict.fromkeys([*key, "area", "row"])).iter_rows(named=True):
        identity = tuple(record[name] for name in key)
        if identity in seen:
            first_row, first_area = seen[identity]
            same = "" if first_area == record["area"] else f" (as {first_area!r})"
            raise OwnFileError(
                f"{file_name}: row {record['row']}, column {column!r}: {record['area']!r}, "
                f"year {record['year']}, gender {record['gender']} is already in row "
                f"{first_row}{same}"
            )
        seen[identity] = (record["row"], record["area"])


# --- areas ---------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Case-folded, diacritics removed, inner spaces collapsed: ``Österåker`` → ``osteraker``."""
    decomposed = unicodedata.normalize("NFKD", _exact(text))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _exact(text: str) -> str:
    """Case-folded and spaces collapsed, diacritics kept: ``Håbo`` and ``Habo`` differ."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


class _AreaIndex:
    """Kolada's areas by code, by exact name and by name without diacritics."""

    def __init__(self, municipalities: pl.DataFrame) -> None:
        self.titles: dict[str, str] = {}
        self.exact: dict[str, list[str]] = {}
        self.folded: dict[str, list[str]] = {}
        for code, title in municipalities.select("id", "title").iter_rows():
            self.titles[code] = title
            self.exact.setdefault(_exact(title), []).append(code)
            self.folded.setdefault(_fold(title), []).append(code)

    def resolve(self, area: str, row: int, *, file_name: str, column: str) -> str:
        where = f"{file_name}: row {row}, column {column!r}: {area!r}"
        if _CODE.match(area):
            # Excel turns the code 0115 into the number 115 unless the cell is text.
            code = area.zfill(4)
            if code not in self.titles:
                raise OwnFileError(f"{where} is not a Kolada area code")
            return code
        # Exact spelling first: Håbo (0305) and Habo (0643) differ only by a ring.
        for table, key in ((self.exact, _exact(area)), (self.folded, _fold(area))):
            codes = table.get(key, [])
            if len(codes) == 1:
                return codes[0]
            if len(codes) > 1:
                choices = ", ".join(f"{self.titles[code]} ({code})" for code in sorted(codes))
                raise OwnFileError(
                    f"{where} could be any of {choices}; write it as spelt or use the code"
                )
        raise OwnFileError(f"{where} is not a kommun, region or Riket{self._suggest(area)}")

    def _suggest(self, area: str) -> str:
        by_fold = self.folded
        close = difflib.get_close_matches(_fold(area), list(by_fold), n=3, cutoff=0.7)
        # Kolada calls regions "Region Stockholm": "Stockholm" alone is the kommun.
        with_region = [key for key in by_fold if key.endswith(" " + _fold(area))]
        names = [
            f"{self.titles[code]} ({code})"
            for key in [*close, *with_region]
            for code in by_fold[key]
        ]
        unique = list(dict.fromkeys(names))
        return f"; did you mean {' or '.join(unique)}?" if unique else ""
