"""CSV classification the way Glue's built-in CSV classifier does it (pure functions, no moto, no I/O).

Rules reproduced from the AWS Glue developer guide ("Built-in CSV classifier"):
- delimiters tried: comma, pipe, tab, semicolon, Ctrl-A; a file is CSV only with at least two columns and
  two rows;
- a header is inferred only when every cell of the first row parses as STRING, every cell but the last is
  shorter than 150 characters, every cell is a valid column name, and the row is "sufficiently different"
  from the data: at least one column of the data rows parses as something other than STRING. Otherwise
  the columns are named col0, col1, ... (what crawlers really produce; the guide says col1);
- the last column may be empty throughout the file (a trailing delimiter): it is then dropped.
Types come from a sample (the head of each file): bigint, double, boolean, date (yyyy-mm-dd) and
timestamp (yyyy-mm-dd hh:mm:ss[.f]) when every non-empty sampled value parses as that type, else string.
Across files, bigint widens to double and any other disagreement to string; a different delimiter, column
count or header fails the crawl (Glue would split the folder into several tables; we refuse instead).
"""

from __future__ import annotations

import csv
import io
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

DELIMITERS = (",", "|", "\t", ";", "\x01")
DELIMITER_NAMES = {",": "comma", "|": "pipe", "\t": "tab", ";": "semicolon", "\x01": "Ctrl-A"}
MAX_HEADER_CELL = 150
MAX_SAMPLE_ROWS = 5000
GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"

STRING, BIGINT, DOUBLE, BOOLEAN, DATE, TIMESTAMP = "string", "bigint", "double", "boolean", "date", "timestamp"

_BIGINT = re.compile(r"[+-]?\d+")
_DOUBLE = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,9})?")
_COLUMN_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,255}")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class ClassificationError(Exception):
    """The input is not CSV the crawler can classify; the message says which file and why."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str


@dataclass(frozen=True)
class CsvSchema:
    delimiter: str
    has_header: bool
    columns: tuple[Column, ...]
    quoted: bool = False
    compressed: bool = False
    sources: tuple[str, ...] = field(default=(), compare=False)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)


def value_type(value: str) -> str:
    """The narrowest Glue type `value` parses as (empty values are handled by the caller)."""
    text = value.strip()
    if _BIGINT.fullmatch(text):
        return BIGINT if INT64_MIN <= int(text) <= INT64_MAX else DOUBLE
    if _DOUBLE.fullmatch(text):
        return DOUBLE
    if text.lower() in ("true", "false"):
        return BOOLEAN
    if _DATE.fullmatch(text):
        try:
            date.fromisoformat(text)
            return DATE
        except ValueError:
            return STRING
    if _TIMESTAMP.fullmatch(text):
        try:
            datetime.fromisoformat(text[:26])
            return TIMESTAMP
        except ValueError:
            return STRING
    return STRING


def widen(left: str | None, right: str | None) -> str | None:
    """The type holding both (None = no value seen yet)."""
    if left is None or left == right:
        return right
    if right is None:
        return left
    if {left, right} == {BIGINT, DOUBLE}:
        return DOUBLE
    return STRING


def column_type(values: list[str]) -> str:
    found: str | None = None
    for value in values:
        if value.strip() == "":
            continue
        found = widen(found, value_type(value))
        if found == STRING:
            return STRING
    return found or STRING


def decode_sample(head: bytes, *, complete: bool, source: str) -> tuple[str, bool, bool]:
    """Text of the sample (cut at the last full line unless `complete`), whether it was gzip, and whether
    the text is complete. Binary and non-CSV formats raise ClassificationError."""
    compressed = head.startswith(GZIP_MAGIC)
    if compressed:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            head = inflater.decompress(head, len(head) * 20 + 1024 * 1024)
        except zlib.error as error:
            raise ClassificationError(f"{source}: unreadable gzip data ({error})") from error
        complete = complete and inflater.eof and not inflater.unconsumed_tail
    if head.startswith(PARQUET_MAGIC):
        raise ClassificationError(f"{source}: Parquet data; the local crawler classifies CSV only")
    if b"\x00" in head:
        raise ClassificationError(f"{source}: binary content (NUL bytes), not a CSV text file")
    if not complete:
        cut = max(head.rfind(b"\n"), head.rfind(b"\r"))
        head = head[: cut + 1] if cut >= 0 else head
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ClassificationError(
            f"{source}: not UTF-8 text (invalid byte at offset {error.start}), not a CSV text file"
        ) from error
    return text, compressed, complete


#: share of sampled rows that must agree on the column count for a file to classify as CSV
MIN_CONSISTENT_SHARE = 0.95


def _rows(text: str, delimiter: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', strict=False)
    rows: list[list[str]] = []
    for row in reader:
        if not row or (len(row) == 1 and row[0].strip() == ""):
            continue
        rows.append(row)
        if len(rows) >= MAX_SAMPLE_ROWS:
            break
    return rows


def detect_delimiter(text: str, source: str) -> tuple[str, list[list[str]]]:
    """The first delimiter (in Glue's order) splitting every sampled row into the same >= 2 columns."""
    best_inconsistent: tuple[str, list[list[str]]] | None = None
    for delimiter in DELIMITERS:
        if delimiter not in text:
            continue
        rows = _rows(text, delimiter)
        widths = Counter(len(row) for row in rows)
        if len(widths) == 1 and next(iter(widths)) >= 2:
            return delimiter, rows
        common, count = widths.most_common(1)[0] if widths else (0, 0)
        if common >= 2 and count >= MIN_CONSISTENT_SHARE * len(rows):
            # Real exports carry a few malformed rows; Glue still classifies such a file as CSV (the odd
            # rows read as nulls or extra fields later). Type inference uses the consistent rows only.
            return delimiter, [row for row in rows if len(row) == common]
        if common >= 2 and count >= 2 and best_inconsistent is None:
            best_inconsistent = (delimiter, rows)
    if best_inconsistent is not None:
        delimiter, rows = best_inconsistent
        expected = Counter(len(row) for row in rows).most_common(1)[0][0]
        line, row = next((number, row) for number, row in enumerate(rows, 1) if len(row) != expected)
        raise ClassificationError(
            f"{source}: mixed column counts with delimiter {DELIMITER_NAMES[delimiter]}: row {line} has "
            f"{len(row)} fields, most rows have {expected}"
        )
    raise ClassificationError(f"{source}: not recognised as CSV (fewer than two columns with any of "
                              "comma, pipe, tab, semicolon, Ctrl-A)")


def _is_header(first: list[str], data: list[list[str]], data_types: list[str]) -> bool:
    for index, cell in enumerate(first):
        text = cell.strip()
        is_last = index == len(first) - 1
        if text and value_type(text) != STRING:
            return False
        if not is_last and len(text) >= MAX_HEADER_CELL:
            return False
        if not _COLUMN_NAME.fullmatch(text):
            return False
    # "Sufficiently different": some data column parses as other than STRING.
    return any(kind != STRING for kind in data_types)


def _unique(names: list[str]) -> list[str]:
    seen: Counter[str] = Counter()
    unique: list[str] = []
    for name in names:
        seen[name] += 1
        unique.append(name if seen[name] == 1 else f"{name}_{seen[name] - 1}")
    return unique


def classify_csv(head: bytes, *, complete: bool, source: str) -> CsvSchema:
    """Classify one file from its head (`complete` when `head` is the whole object)."""
    text, compressed, _ = decode_sample(head, complete=complete, source=source)
    if not text.strip():
        raise ClassificationError(f"{source}: empty file")
    delimiter, rows = detect_delimiter(text, source)
    if len(rows) < 2:
        raise ClassificationError(f"{source}: not recognised as CSV (fewer than two rows)")
    width = len(rows[0])
    # A trailing delimiter: the last column is empty throughout the file.
    if all(row[-1].strip() == "" for row in rows):
        rows = [row[:-1] for row in rows]
        width -= 1
        if width < 2:
            raise ClassificationError(f"{source}: not recognised as CSV (fewer than two columns)")
    quoted = '"' in text
    data_types = [column_type([row[index] for row in rows[1:]]) for index in range(width)]
    if _is_header(rows[0], rows[1:], data_types):
        names = _unique([cell.strip().lower() for cell in rows[0]])
        columns = tuple(Column(name, kind) for name, kind in zip(names, data_types, strict=True))
        return CsvSchema(delimiter, True, columns, quoted, compressed, (source,))
    all_types = [column_type([row[index] for row in rows]) for index in range(width)]
    columns = tuple(Column(f"col{index}", kind) for index, kind in enumerate(all_types))
    return CsvSchema(delimiter, False, columns, quoted, compressed, (source,))


def merge_schemas(schemas: list[CsvSchema], where: str) -> CsvSchema:
    """One schema for all files of a table; files that disagree in layout fail the crawl."""
    if not schemas:
        raise ClassificationError(f"{where}: no classifiable files")
    first = schemas[0]
    first_source = first.sources[0] if first.sources else "the first file"
    merged = list(first.columns)
    for schema in schemas[1:]:
        source = schema.sources[0] if schema.sources else "a file"
        if schema.delimiter != first.delimiter:
            raise ClassificationError(
                f"{where}: mixed schemas: {source} is {DELIMITER_NAMES[schema.delimiter]}-delimited but "
                f"{first_source} is {DELIMITER_NAMES[first.delimiter]}-delimited"
            )
        if len(schema.columns) != len(first.columns):
            raise ClassificationError(
                f"{where}: mixed schemas: {source} has {len(schema.columns)} columns but {first_source} has "
                f"{len(first.columns)}"
            )
        if schema.has_header != first.has_header or (
            first.has_header and schema.column_names != first.column_names
        ):
            raise ClassificationError(
                f"{where}: mixed schemas: {source} has header {_describe(schema)} but {first_source} has "
                f"{_describe(first)}"
            )
        merged = [
            Column(left.name, widen(left.type, right.type) or STRING)
            for left, right in zip(merged, schema.columns, strict=True)
        ]
    return CsvSchema(
        first.delimiter,
        first.has_header,
        tuple(merged),
        any(schema.quoted for schema in schemas),
        any(schema.compressed for schema in schemas),
        tuple(source for schema in schemas for source in schema.sources),
    )


def _describe(schema: CsvSchema) -> str:
    return f"({', '.join(schema.column_names)})" if schema.has_header else "(none)"
