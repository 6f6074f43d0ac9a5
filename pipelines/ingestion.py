"""Reading HR rosters and CE provider exports into canonical, typed Polars frames.

Plain functions, no Dagster: the ingest assets call them. A file is either read whole (every data
row kept, with its spreadsheet row number) or rejected whole with a reason naming the file and the
column; what a single row gets wrong is for the quality stage to judge, so nothing is dropped here.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime as dt
import errno
import hashlib
import io
import os
import pathlib
import re
import stat

import polars as pl

from pipelines.hashing import fingerprint_of
from pipelines.settings import (
    ADJUSTMENT_COLUMNS,
    ADJUSTMENT_REQUIRED_COLUMNS,
    CATEGORIES,
    COURSE_CATALOG_COLUMNS,
    COURSE_CATALOG_REQUIRED_COLUMNS,
    CREDIT_COLUMNS,
    CREDIT_PERSON_KEYS,
    CREDIT_REQUIRED_COLUMNS,
    DELIVERIES,
    HOURS_PER_CEU,
    ROSTER_COLUMNS,
    ROSTER_REQUIRED_COLUMNS,
    InputSource,
)
from pipelines.workbooks import outline

FIRST_DATA_ROW = 2  # the header is row 1, as a spreadsheet shows it
HOURS = pl.Decimal(18, 4)
# How an XLSX date cell reads when every cell is taken as text.
XLSX_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
UNIT_WORDS = {"hours": "hours", "hour": "hours", "hrs": "hours", "h": "hours", "contact hours": "hours", "ceu": "CEU", "ceus": "CEU"}


@dataclasses.dataclass(frozen=True)
class LandingPath:
    """A path a source's glob matched in the landing folder, not read yet."""

    path: pathlib.Path
    relative: str  # relative to the landing folder, forward slashes; bytes that are not UTF-8 escaped (\\xe9)


@dataclasses.dataclass(frozen=True)
class SourceFile:
    """A landing file read once: its bytes, and the SHA-256 of exactly those bytes."""

    path: pathlib.Path
    relative: str
    sha256: str
    data: bytes = dataclasses.field(default=b"", repr=False)


class FileUnavailable(Exception):
    """The file system did not give us the file's bytes; nothing of it is kept, the next run tries again."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code


@dataclasses.dataclass(frozen=True)
class FileRead:
    """A file read as text cells under canonical column names, or the reason it was rejected."""

    file: SourceFile
    frame: pl.DataFrame | None = None  # canonical text columns + source_row
    rejected_column: str | None = None
    rejection: str | None = None
    warning_code: str | None = None  # an accepted file's file-level warning (other_sheets_ignored)
    warning: str | None = None

    @property
    def rows_read(self) -> int:
        return 0 if self.frame is None else self.frame.height


def _printable(relative: pathlib.PurePath) -> str:
    """The path as text that any output can hold: a name that is not UTF-8 (Python keeps its bytes as
    surrogates, which no encoder writes) has those bytes escaped, `caf\\xe9.csv`."""
    return relative.as_posix().encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def discover_files(landing_dir: pathlib.Path, source: InputSource) -> list[LandingPath]:
    """The paths the source's glob matches in the landing folder, in path order (the order duplicates are
    judged in). Everything but directories, hidden files and `~$` lock files: links and other non-regular
    files are listed so that `load_file` reports them."""
    paths = sorted(
        p for p in landing_dir.glob(source.path) if not p.name.startswith((".", "~$")) and (p.is_symlink() or not p.is_dir())
    )
    return [LandingPath(path=p, relative=_printable(p.relative_to(landing_dir))) for p in paths]


def is_inside(landing_dir: pathlib.Path, path: pathlib.Path) -> bool:
    """Whether `path` is itself inside the landing folder: no symbolic link on the way from the folder to it."""
    return path.resolve() == landing_dir.resolve() / path.relative_to(landing_dir)


def load_file(landing_dir: pathlib.Path, entry: LandingPath) -> SourceFile:
    """Read the file's bytes once and hash them; raises FileUnavailable for anything that is not a regular
    file inside the landing folder (a link anywhere on its path is never followed) or that cannot be read."""
    if entry.relative != entry.path.relative_to(landing_dir).as_posix():
        raise FileUnavailable("file_name_not_utf8", f"{entry.relative}: its name is not valid UTF-8: rename the file (the name is shown with the bad bytes escaped)")
    if not is_inside(landing_dir, entry.path):
        raise FileUnavailable("symlink_not_followed", f"{entry.relative}: a symbolic link (or a path through one): links are never followed; copy the file into the landing folder")
    try:
        # O_NOFOLLOW: a link swapped in after the check above still fails; O_NONBLOCK: a FIFO never blocks the run.
        fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise FileUnavailable("symlink_not_followed", f"{entry.relative}: a symbolic link: links are never followed") from None
        raise FileUnavailable("file_unavailable", f"{entry.relative}: cannot be opened ({error.strerror}); it is tried again on the next run") from None
    with os.fdopen(fd, "rb") as f:
        # Where the open really landed (Linux tells): a folder on the way swapped for a link after the check above.
        opened = pathlib.Path(f"/proc/self/fd/{fd}")
        real = os.readlink(opened) if opened.is_symlink() else None
        if real is not None and real.endswith(" (deleted)"):
            raise FileUnavailable("file_unavailable", f"{entry.relative}: removed while it was opened; it is tried again on the next run")
        if real is not None and pathlib.Path(real) != landing_dir.resolve() / entry.path.relative_to(landing_dir):
            raise FileUnavailable("symlink_not_followed", f"{entry.relative}: a path through a symbolic link: links are never followed")
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise FileUnavailable("not_a_regular_file", f"{entry.relative}: not a regular file (a device, socket or pipe)")
        try:
            data = f.read()
        except OSError as error:
            raise FileUnavailable("file_unavailable", f"{entry.relative}: cannot be read ({error.strerror}); it is tried again on the next run") from None
    return SourceFile(path=entry.path, relative=entry.relative, sha256=hashlib.sha256(data).hexdigest(), data=data)


def _check_utf8(data: bytes) -> None:
    """Raise UnicodeDecodeError where the bytes are not UTF-8, as `bytes.decode` does; Polars checks
    the usual valid file several times faster, without building a Python string of it."""
    try:
        pl.Series([data], dtype=pl.Binary).cast(pl.String)
    except pl.exceptions.PolarsError:
        data.decode("utf-8")  # raises, naming the first bad byte


def _as_utf8(data: bytes) -> bytes:
    """The file's bytes as UTF-8, trying UTF-8, UTF-8 with BOM and Windows-1252 in turn; never a silent
    replacement of bad bytes. Anything else is refused with what was found."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        found = "UTF-16 LE" if data.startswith(codecs.BOM_UTF16_LE) else "UTF-16 BE"
        raise ValueError(f"is {found} (it starts with that byte-order mark): expected UTF-8 or Windows-1252; save it as \"CSV UTF-8\"")
    if data.startswith(b"PK\x03\x04"):
        raise ValueError("is a zip archive (a workbook?), not a CSV: save it as CSV, or name it .xlsx if it is a workbook")
    if b"\x00" in data[:65536]:
        # No text encoding we read has NUL bytes; UTF-16 without a byte-order mark and binary files do.
        raise ValueError("is not text: it holds NUL bytes (UTF-16 without a byte-order mark, or a binary file): expected UTF-8 or Windows-1252")
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        _check_utf8(data)
        return data
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("cp1252").encode("utf-8")
        except UnicodeDecodeError as cp1252_error:
            raise ValueError(
                f"cannot be decoded: not UTF-8 (bad byte at offset {utf8_error.start}) and not Windows-1252 "
                f"(byte 0x{data[cp1252_error.start]:02X} at offset {cp1252_error.start} is undefined there)"
            ) from None


def _read_csv(data: bytes) -> pl.DataFrame:
    data = _as_utf8(data)
    if not data or data.isspace():  # stops at the first other byte, where strip() copied the file
        raise ValueError("is empty: expected a header row")
    if b"\n" not in data and b"\r" in data:
        # Lines ended by a carriage return alone (classic Mac OS exports): Polars and csv split lines at \n only.
        data = data.replace(b"\r", b"\n")
    # newline="": a carriage return inside a line ends the header here instead of raising csv.Error.
    header = next(csv.reader(io.StringIO(data[:65536].decode("utf-8", errors="ignore"), newline="")))
    seen: set[str] = set()
    for name in header:
        key = name.strip().casefold()
        if key in seen:
            raise ValueError(f"has the column header {name.strip()!r} twice")
        seen.add(key)
    try:
        return pl.read_csv(data, infer_schema=False, has_header=True, quote_char='"')
    except pl.exceptions.PolarsError as error:
        raise _misshapen_row(data, header) or error from None


def _misshapen_row(data: bytes, header: list[str]) -> ValueError | None:
    """Which record broke Polars' read, where Python's csv finds it: one with more or fewer fields than the
    header (a stray comma, or a quote that does not close and swallows the lines after it). Its row is the
    one a spreadsheet shows (the header is row 1)."""
    rows = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    for row_number, fields in enumerate(rows, start=1):
        if not fields or len(fields) == len(header):
            continue
        unclosed = next((i for i, field in enumerate(fields) if "\n" in field or "\r" in field), None)
        if unclosed is not None and unclosed < len(header):
            return ValueError(
                f"row {row_number} opens a quote at column {header[unclosed].strip()!r} that does not close before the "
                "line ends: expected a closing quote in that row"
            )
        return ValueError(
            f"row {row_number} has {len(fields)} fields where the header has {len(header)} "
            "(a comma or a quote too many or too few in that row?): expected one field per header"
        )
    if re.search(rb"\r(?!\n)", data):  # csv ends a line there, Polars does not
        return ValueError("ends some lines with a carriage return alone and others with a line feed: expected one kind of line ending")
    return None


def _read_xlsx(data: bytes) -> tuple[pl.DataFrame, int, tuple[str, ...]]:
    """The first sheet as text, the spreadsheet row of its first data row, and the other sheets holding data.

    The reader starts at the first row holding a value (the header) and keeps blank rows as null rows:
    they are numbered, then dropped, so every row keeps the number the spreadsheet shows."""
    shape = outline(data)
    if not shape.first_sheet.cells and shape.other_sheets_with_data:
        others = ", ".join(repr(name) for name in shape.other_sheets_with_data)
        raise ValueError(
            f"has nothing on its first sheet {shape.sheet_names[0]!r}, which is the one read; the data is on {others}: "
            "move it to the first sheet"
        )
    frame = pl.read_excel(data, sheet_id=1, infer_schema_length=0, drop_empty_rows=False, drop_empty_cols=False)
    first_data_row = shape.first_sheet.first_row + 1 if shape.first_sheet.cells else FIRST_DATA_ROW
    return frame, first_data_row, shape.other_sheets_with_data


def _is_xlsx(path: pathlib.Path) -> bool:
    return path.suffix.lower() in (".xlsx", ".xlsm")


def _reason_of(error: BaseException) -> str:
    """What a reader's error says, without the file's content: the rejection is published, the file is not.
    Our own messages (ValueError) quote headers at most; a library's may quote a whole line of the file
    (Polars: could not parse `<the line>` as dtype `str`), so its quoted spans are cut, short names kept."""
    text = str(error)
    ours = isinstance(error, ValueError) and not isinstance(error, pl.exceptions.PolarsError)
    if not ours:
        text = re.sub(r"`[^`]*`", lambda quoted: quoted[0] if re.fullmatch(r"`\w{1,12}`", quoted[0]) else "`...`", text)
    message = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if ours:
        return message or type(error).__name__
    return f"{type(error).__name__}: {message[:300]}" if message else type(error).__name__


def read_source_file(
    file: SourceFile, source: InputSource, known: tuple[str, ...], required: tuple[str, ...], extra_headers: tuple[str, ...] = ()
) -> FileRead:
    """Parse the file's bytes and rename its headers to canonical names (matched trimmed and case-insensitively).

    Whatever a reader raises becomes the file's rejection: one bad file never stops the run.
    `extra_headers` are raw headers kept under their own name (a per-row credit unit column).
    """
    other_sheets: tuple[str, ...] = ()
    try:
        if _is_xlsx(file.path):
            raw, first_data_row, other_sheets = _read_xlsx(file.data)
        else:
            raw, first_data_row = _read_csv(file.data), FIRST_DATA_ROW
    except MemoryError:
        # The machine's, not the file's: rejected for this run only, never remembered with the version.
        raise FileUnavailable("file_unavailable", f"{file.relative}: not enough memory to read it now; it is tried again on the next run") from None
    except Exception as error:  # noqa: BLE001 - a reader's failure is the file's, never the run's (calamine, csv, Polars...)
        return FileRead(file, rejection=f"{file.relative}: unreadable file: {_reason_of(error)}")
    ignored = f"data on other sheets ignored ({', '.join(repr(s) for s in other_sheets)}): only the first sheet is read" if other_sheets else None

    by_folded = {name.strip().casefold(): name for name in raw.columns}
    renames: dict[str, str] = {}
    for canonical in known:
        header = source.header_for(canonical)
        found = by_folded.get(header.strip().casefold())
        if found is not None:
            renames[found] = canonical
    for header in extra_headers:
        found = by_folded.get(header.strip().casefold())
        if found is not None:
            renames[found] = header

    for canonical in required + extra_headers:
        if canonical not in renames.values():
            header = source.header_for(canonical) if canonical in known else canonical
            return FileRead(
                file,
                rejected_column=canonical,
                rejection=(
                    f"{file.relative}: required column {canonical!r} is missing: expected a header {header!r}; "
                    f"found {_headers_found(raw.columns)}" + (f"; {ignored}" if ignored else "")
                ),
            )
    if source.kind == "provider" and not any(all(k in renames.values() for k in key) for key in CREDIT_PERSON_KEYS):
        wanted = " or ".join("+".join(repr(source.header_for(c)) for c in key) for key in CREDIT_PERSON_KEYS)
        return FileRead(
            file,
            rejected_column="license_number",
            rejection=f"{file.relative}: no column names the clinician: expected {wanted}" + (f"; {ignored}" if ignored else ""),
        )

    # Every column trimmed, the unread ones under a name of their own, to tell the blank rows: a spreadsheet's
    # blank row or a CSV's empty line (or one of commas alone) is numbered, as the spreadsheet shows it, and not
    # read; a row with a value in any column, read or not, is a row read.
    unread = {found: f"\0unread {i}" for i, found in enumerate(c for c in raw.columns if c not in renames)}
    frame = raw.select(
        [pl.col(found).cast(pl.String).str.strip_chars().replace("", None).alias(name) for found, name in {**renames, **unread}.items()]
    ).with_row_index("source_row", offset=first_data_row)
    frame = frame.filter(pl.any_horizontal(pl.all().exclude("source_row").is_not_null())).drop(*unread.values())
    frame = frame.with_columns([pl.lit(None, dtype=pl.String).alias(c) for c in known if c not in frame.columns])
    return FileRead(
        file,
        frame=frame.with_columns(pl.col("source_row").cast(pl.Int64)),
        warning_code="other_sheets_ignored" if ignored else None,
        warning=f"{file.relative}: {ignored}" if ignored else None,
    )


def _headers_found(headers: list[str], most: int = 30, longest: int = 60) -> str:
    """The headers of a file missing a column, as much as the user needs to see the mismatch: bounded, so a
    file that is not the expected kind at all (a whole text on one line) is not published through its error."""
    shown = [repr(h if len(h) <= longest else h[:longest] + "...") for h in headers[:most]]
    more = f" and {len(headers) - most} more" if len(headers) > most else ""
    return (", ".join(shown) + more) or "no headers"


def read_roster_file(file: SourceFile, source: InputSource) -> FileRead:
    return read_source_file(file, source, ROSTER_COLUMNS, ROSTER_REQUIRED_COLUMNS)


def read_credit_file(file: SourceFile, source: InputSource) -> FileRead:
    extra = (source.unit_column,) if source.unit_column else ()
    return read_source_file(file, source, CREDIT_COLUMNS, CREDIT_REQUIRED_COLUMNS, extra)


def read_catalog_file(file: SourceFile, source: InputSource) -> FileRead:
    return read_source_file(file, source, COURSE_CATALOG_COLUMNS, COURSE_CATALOG_REQUIRED_COLUMNS)


def read_adjustments_file(file: SourceFile, source: InputSource) -> FileRead:
    return read_source_file(file, source, ADJUSTMENT_COLUMNS, ADJUSTMENT_REQUIRED_COLUMNS)


def parse_date(column: str, date_format: str, is_xlsx: bool) -> pl.Expr:
    """Text to date in the source's format; an XLSX date cell also reads as a date. Unparseable -> null."""
    parsed = pl.col(column).str.to_date(date_format, strict=False)
    if is_xlsx:
        parsed = pl.coalesce(parsed, pl.col(column).str.to_datetime(XLSX_DATETIME_FORMAT, strict=False).dt.date())
    return parsed


def parse_decimal(column: str) -> pl.Expr:
    """Text to an exact decimal (4 places); anything that is not a plain number with a point -> null."""
    text = pl.col(column)
    # A point is the only separator: `1,5` (a decimal comma) and `1,000` (a thousands comma) are not numbers,
    # never 15 or 1000.
    return pl.when(text.str.contains(r"^[+-]?(\d+\.?\d*|\.\d+)$")).then(text.cast(HOURS, strict=False)).otherwise(None)


def case_folded(column: str) -> pl.Expr:
    """Unicode case folding, Python's `str.casefold`: the course a title names without a course id (`Straße
    Ethics` and `STRASSE ETHICS` are one), where lower case alone (Polars', DuckDB's) keeps ß, ſ, ﬁ or a
    final ς apart. Per value in Python: over millions of rows, apply it to their distinct titles."""
    return pl.col(column).map_elements(str.casefold, return_dtype=pl.String, skip_nulls=True)


def per_distinct_value(frame: pl.DataFrame, column: str, convert: pl.Expr) -> pl.Expr:
    """`convert` (an expression of `column` alone, null for null) worked out once per distinct value of
    the column and looked up for every row: the same values, at a fraction of the cost where a column
    repeats few values over millions of rows (categories, deliveries, units, hours)."""
    distinct = frame.select(pl.col(column).unique().drop_nulls())
    return pl.col(column).replace_strict(distinct.to_series(), distinct.select(convert).to_series(), default=None)


def _vocabulary(frame: pl.DataFrame, column: str, mapping: dict[str, str], vocabulary: tuple[str, ...]) -> pl.Expr:
    """Map a free-text value onto the vocabulary: the configured map first, then the value itself; case-folded
    as the configured map's keys are (`Straße` is `STRASSE`)."""
    folded = case_folded(column)
    as_is = folded.str.replace_all(r"[\s\-]+", "_")
    return per_distinct_value(
        frame,
        column,
        pl.coalesce(
            folded.replace_strict(mapping, default=None, return_dtype=pl.String) if mapping else pl.lit(None, pl.String),
            pl.when(as_is.is_in(list(vocabulary))).then(as_is),
        ),
    )


def lineage(file: SourceFile, ingested_at: dt.datetime) -> list[pl.Expr]:
    return [
        pl.lit(file.relative).alias("source_file"),
        pl.lit(file.sha256).alias("file_sha256"),
        pl.lit(ingested_at, dtype=pl.Datetime("us")).alias("ingested_at"),
    ]


def stage_roster(read: FileRead, source: InputSource, ingested_at: dt.datetime) -> pl.DataFrame:
    """Canonical roster rows: text normalised, dates parsed (the raw text kept beside each date)."""
    is_xlsx = _is_xlsx(read.file.path)
    dates = ("termination_date", "license_issue_date", "license_expiration_date")
    frame = read.frame
    assert frame is not None
    return frame.select(
        *lineage(read.file, ingested_at),
        "source_row",
        "employee_id",
        "first_name",
        "last_name",
        pl.col("email").str.to_lowercase(),
        "clinic",
        "job_title",
        pl.col("employment_status").str.to_lowercase(),
        pl.col("license_type").str.to_uppercase(),
        pl.col("license_state").str.to_uppercase(),
        "license_number",
        *[parse_date(c, source.date_format, is_xlsx).alias(c) for c in dates],
        *[pl.col(c).alias(f"{c}_raw") for c in dates],
        # `supervisor; Telehealth` -> ["supervisor", "telehealth"]: tokens trimmed, lower-cased, empty ones dropped
        pl.col("roles").str.to_lowercase().str.split(";").list.eval(pl.element().str.strip_chars()).list.eval(
            pl.element().filter(pl.element() != "")
        ).alias("roles"),
    )


def stage_credits(read: FileRead, source: InputSource, ingested_at: dt.datetime) -> pl.DataFrame:
    """Canonical credit rows in contact hours, vocabulary mapped (null where the map has no answer)."""
    is_xlsx = _is_xlsx(read.file.path)
    frame = read.frame
    assert frame is not None
    if source.unit_column:
        unit = per_distinct_value(
            frame,
            source.unit_column,
            pl.col(source.unit_column).str.to_lowercase().replace_strict(UNIT_WORDS, default=None, return_dtype=pl.String),
        )
        unit_raw = pl.col(source.unit_column)
    else:
        unit = unit_raw = pl.lit(source.credit_unit)
    amount = per_distinct_value(frame, "hours", parse_decimal("hours"))
    contact_hours = pl.when(unit == "CEU").then(amount * HOURS_PER_CEU).when(unit == "hours").then(amount)
    return frame.select(
        *lineage(read.file, ingested_at),
        pl.lit(source.name).alias("provider_name"),
        "source_row",
        per_distinct_value(frame, "license_state", pl.col("license_state").str.to_uppercase()),
        "license_number",
        "employee_id",
        pl.col("email").str.to_lowercase(),
        "first_name",
        "last_name",
        "course_id",
        "course_title",
        pl.coalesce("provider", pl.lit(source.name)).alias("provider"),
        "accreditation",
        parse_date("completion_date", source.date_format, is_xlsx).alias("completion_date"),
        pl.col("completion_date").alias("completion_date_raw"),
        contact_hours.cast(HOURS).alias("hours"),
        pl.col("hours").alias("hours_raw"),
        unit_raw.cast(pl.String).alias("credit_unit_raw"),
        unit.alias("credit_unit"),
        _vocabulary(frame, "category", source.categories, CATEGORIES).alias("category"),
        pl.col("category").alias("category_raw"),
        _vocabulary(frame, "delivery", source.delivery, DELIVERIES).alias("delivery"),
        pl.col("delivery").alias("delivery_raw"),
    )


def stage_course_catalog(read: FileRead, source: InputSource, ingested_at: dt.datetime) -> pl.DataFrame:
    """Canonical catalog courses: hours and cost as exact decimals, vocabulary mapped, states as a list."""
    frame = read.frame
    assert frame is not None
    return frame.select(
        *lineage(read.file, ingested_at),
        "source_row",
        "course_id",
        "course_title",
        "provider",
        "accreditation",
        parse_decimal("hours").alias("hours"),
        pl.col("hours").alias("hours_raw"),
        _vocabulary(frame, "category", source.categories, CATEGORIES).alias("category"),
        pl.col("category").alias("category_raw"),
        _vocabulary(frame, "delivery", source.delivery, DELIVERIES).alias("delivery"),
        pl.col("delivery").alias("delivery_raw"),
        parse_decimal("cost").alias("cost"),
        pl.col("cost").alias("cost_raw"),
        pl.col("states").str.to_uppercase().str.split(";").list.eval(pl.element().str.strip_chars()).list.eval(
            pl.element().filter(pl.element() != "")
        ).alias("states"),
        pl.col("states").alias("states_raw"),
    )


def stage_adjustments(read: FileRead, source: InputSource, ingested_at: dt.datetime) -> pl.DataFrame:
    """Canonical adjustment rows: keys and kind normalised, hours exact, dates parsed (raw text kept)."""
    is_xlsx = _is_xlsx(read.file.path)
    frame = read.frame
    assert frame is not None
    dates = ("until", "cycle_end", "entered_on")
    return frame.select(
        *lineage(read.file, ingested_at),
        "source_row",
        "employee_id",
        pl.col("license_state").str.to_uppercase(),
        pl.col("license_type").str.to_uppercase(),
        pl.col("kind").str.to_lowercase(),
        pl.col("requirement").str.to_lowercase(),
        parse_decimal("hours").alias("hours"),
        pl.col("hours").alias("hours_raw"),
        *[parse_date(c, source.date_format, is_xlsx).alias(c) for c in dates],
        *[pl.col(c).alias(f"{c}_raw") for c in dates],
        "reference",
        "entered_by",
        "note",
    )


FILE_RECORD_SCHEMA = {
    "source_file": pl.String,
    "input_kind": pl.String,
    "input_name": pl.String,
    "sha256": pl.String,
    "status": pl.String,
    "reason": pl.String,
    "rejected_column": pl.String,
    "rows_read": pl.Int64,
    # A code beside `reason`: why a file was rejected without being read (symlink_not_followed...), or the
    # file-level warning of an accepted file (other_sheets_ignored, with `reason` its message); else null.
    "reason_code": pl.String,
}


@dataclasses.dataclass(frozen=True)
class IngestedSource:
    """Every file of one input source: the staged rows of the readable ones and a record per file."""

    rows: pl.DataFrame
    files: pl.DataFrame  # FILE_RECORD_SCHEMA

    @property
    def rejected(self) -> pl.DataFrame:
        return self.files.filter(pl.col("status") == "rejected")


_STAGERS = {
    "roster": (read_roster_file, stage_roster, ROSTER_COLUMNS),
    "provider": (read_credit_file, stage_credits, CREDIT_COLUMNS),
    "course_catalog": (read_catalog_file, stage_course_catalog, COURSE_CATALOG_COLUMNS),
    "adjustments": (read_adjustments_file, stage_adjustments, ADJUSTMENT_COLUMNS),
}


def _empty_staged(input_kind: str, ingested_at: dt.datetime) -> pl.DataFrame:
    """A staged frame with no rows, so the table keeps its shape when no file could be read."""
    _, stager, known = _STAGERS[input_kind]
    empty = pl.DataFrame(schema={c: pl.String for c in known}).with_row_index("source_row").cast({"source_row": pl.Int64})
    nothing = FileRead(SourceFile(path=pathlib.Path("none.csv"), relative="", sha256=""), frame=empty)
    return stager(nothing, InputSource(kind=input_kind, name="", path="", columns={}), ingested_at)


STAGING_VERSION = 3  # bump when staging the same file would give other rows


def source_fingerprint(source: InputSource) -> str:
    """Changes whenever the configuration (or the code) that stages this source's files changes."""
    return fingerprint_of({"staging_version": STAGING_VERSION, **dataclasses.asdict(source)})


def unavailable_record(input_kind: str, source: InputSource, entry: LandingPath, error: FileUnavailable) -> dict:
    """The record of a file whose bytes we did not get: rejected, with no content hash."""
    return {
        "source_file": entry.relative,
        "input_kind": input_kind,
        "input_name": source.name,
        "sha256": None,
        "status": "rejected",
        "reason": str(error),
        "rejected_column": None,
        "rows_read": 0,
        "reason_code": error.code,
    }


def ingest_files(files: list[tuple[InputSource, SourceFile]], input_kind: str, ingested_at: dt.datetime) -> IngestedSource:
    """Parse and stage the given files (read already), each under its source's configuration; raises
    FileUnavailable when a file could not be parsed for a reason of this run (memory)."""
    reader, stager, _ = _STAGERS[input_kind]
    staged, records = [], []
    for source, file in files:
        read = reader(file, source)
        records.append(
            {
                "source_file": file.relative,
                "input_kind": input_kind,
                "input_name": source.name,
                "sha256": file.sha256,
                "status": "rejected" if read.rejection else "accepted",
                "reason": read.rejection or read.warning,
                "rejected_column": read.rejected_column,
                "rows_read": read.rows_read,
                "reason_code": read.warning_code,
            }
        )
        if read.frame is not None:
            staged.append(stager(read, source, ingested_at))
    rows = pl.concat(staged, how="vertical") if staged else _empty_staged(input_kind, ingested_at)
    return IngestedSource(rows=rows, files=pl.DataFrame(records, schema=FILE_RECORD_SCHEMA))
