"""Glue's built-in CSV classifier rules, on the pure classifier (no endpoint)."""

from __future__ import annotations

import gzip

import pytest

from reconciler_local.glue.classifier import (
    ClassificationError,
    classify_csv,
    merge_schemas,
    value_type,
)


def classify(text: str, complete: bool = True) -> tuple[str, bool, list[tuple[str, str]]]:
    schema = classify_csv(text.encode(), complete=complete, source="s3://b/f.csv")
    return schema.delimiter, schema.has_header, [(c.name, c.type) for c in schema.columns]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("42", "bigint"),
        ("-7", "bigint"),
        ("99999999999999999999", "double"),
        ("3.14", "double"),
        ("1e5", "double"),
        ("true", "boolean"),
        ("FALSE", "boolean"),
        ("2024-02-29", "date"),
        ("2023-02-29", "string"),
        ("2024-01-02 03:04:05", "timestamp"),
        ("2024-01-02T03:04:05", "string"),
        ("vw", "string"),
        ("NaN", "string"),
    ],
)
def test_value_types(value: str, expected: str) -> None:
    assert value_type(value) == expected


def test_header_is_detected_when_data_differs() -> None:
    assert classify("brand,year,price\nvw,2020,1.5\nbmw,2021,2\n") == (
        ",",
        True,
        [("brand", "string"), ("year", "bigint"), ("price", "double")],
    )


def test_all_string_columns_mean_no_header() -> None:
    # "If all columns are of type STRING, then the first row of data is not sufficiently different".
    assert classify("brand,country\nvw,de\nfiat,it\n") == (
        ",",
        False,
        [("col0", "string"), ("col1", "string")],
    )


def test_numeric_first_row_is_data() -> None:
    assert classify("1,vw\n2,bmw\n") == (",", False, [("col0", "bigint"), ("col1", "string")])


def test_a_numeric_header_cell_means_no_header() -> None:
    _, has_header, cols = classify("brand,2024\nvw,1\nbmw,2\n")
    assert not has_header
    assert cols == [("col0", "string"), ("col1", "bigint")]


def test_long_header_cell_means_no_header() -> None:
    _, has_header, _ = classify(f"{'x' * 150},n\nvw,1\nbmw,2\n")
    assert not has_header


@pytest.mark.parametrize(("delimiter", "name"), [(";", ";"), ("|", "|"), ("\t", "\t"), ("\x01", "\x01")])
def test_delimiters(delimiter: str, name: str) -> None:
    text = delimiter.join(["brand", "n"]) + "\n" + delimiter.join(["vw", "1"]) + "\n" + delimiter.join(["a", "2"])
    assert classify(text)[0] == name


def test_trailing_delimiter_drops_the_empty_last_column() -> None:
    assert classify("brand,n,\nvw,1,\nbmw,2,\n")[2] == [("brand", "string"), ("n", "bigint")]


def test_header_names_are_lowercased_and_unique() -> None:
    assert [name for name, _ in classify("Brand,brand,N\nvw,x,1\nbmw,y,2\n")[2]] == ["brand", "brand_1", "n"]


def test_empty_values_do_not_decide_the_type() -> None:
    assert classify("brand,n\nvw,\nbmw,3\n")[2] == [("brand", "string"), ("n", "bigint")]


def test_truncated_sample_is_cut_at_the_last_full_line() -> None:
    assert classify("brand,n\nvw,1\nbmw,2\nfia", complete=False)[2] == [("brand", "string"), ("n", "bigint")]


def test_gzip_is_read() -> None:
    schema = classify_csv(gzip.compress(b"brand,n\nvw,1\nbmw,2\n"), complete=True, source="f.csv.gz")
    assert schema.compressed
    assert schema.has_header


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PAR1\x00\x01binary", "Parquet"),
        (b"\x00\x01\x02\x03,\x04", "binary"),
        (b"\xff\xfe\xfa,1\n2,3\n", "not UTF-8"),
        (b"a,b,c\n1,2\n3,4,5\n6,7,8\n", "mixed column counts"),
        (b"justonecolumn\nsecond\n", "fewer than two columns"),
        (b"a,b\n", "fewer than two rows"),
    ],
)
def test_unreadable_input_is_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(ClassificationError, match=message):
        classify_csv(data, complete=True, source="s3://b/f.csv")


def test_merge_widens_bigint_to_double_and_refuses_other_layouts() -> None:
    one = classify_csv(b"brand,n\nvw,1\nbmw,2\n", complete=True, source="one")
    two = classify_csv(b"brand,n\nvw,1.5\nbmw,2\n", complete=True, source="two")
    other = classify_csv(b"brand,price\nvw,1\nbmw,2\n", complete=True, source="other")

    assert [(c.name, c.type) for c in merge_schemas([one, two], "t").columns] == [("brand", "string"), ("n", "double")]
    with pytest.raises(ClassificationError, match="mixed schemas"):
        merge_schemas([one, other], "t")


def test_a_few_malformed_rows_still_classify_as_csv() -> None:
    """Raw exports carry a few rows with too few or too many fields; Glue still calls the file CSV."""
    from reconciler_local.glue.classifier import detect_delimiter

    good = "".join(f"BMW,2026-07-{day % 28 + 1:02d},08:00:00\n" for day in range(100))
    text = good + "VW\nAudi,2026-07-01,08:00:00,extra\n"
    delimiter, rows = detect_delimiter(text, "s3://b/raw/part-0.csv")
    assert delimiter == ","
    assert {len(row) for row in rows} == {3}
