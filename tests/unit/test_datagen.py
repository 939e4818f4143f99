"""The raw-data generator: determinism, layout, dirty kinds, and its truth checked by an independent oracle.

The oracle below re-implements the job's row rules in plain Python from the written files alone, so a
truth that disagrees with the data (or data that lacks a kind) fails here without starting Spark.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import tempfile
from collections import Counter
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler_local import datagen

REPO = Path(__file__).resolve().parents[2]
SAMPLE_DIR = REPO / "Data" / "sample" / "car_brands"
SAMPLE_TRUTH = REPO / "Data" / "sample" / "truth" / "car_brands_2026-Q3.json"
DEFAULT_TRUTH = REPO / "Data" / "truth" / "car_brands_2026-Q3.json"

# The spec of what is recoverable, written out independently of the generator and the job.
CANONICAL = {
    b.lower(): b
    for b in [
        "Volkswagen",
        "Mercedes-Benz",
        "BMW",
        "Audi",
        "Skoda",
        "Opel",
        "Ford",
        "Toyota",
        "Seat",
        "Hyundai",
        "Renault",
        "Fiat",
        "Kia",
        "Tesla",
        "Peugeot",
        "Mazda",
        "Volvo",
        "Nissan",
        "Citroen",
        "Porsche",
    ]
}
ALIASES = {
    "vw": "Volkswagen",
    "mercedes benz": "Mercedes-Benz",
    "mercedes": "Mercedes-Benz",
    "mercedesbenz": "Mercedes-Benz",
    "škoda": "Skoda",
    "citroën": "Citroen",
}
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
TIME_RE = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]")


def classify(line: str, quarter: str) -> tuple[str | None, str | None, dt.date | None]:
    """(reject reason or None, canonical brand, event date) by the job's documented rules."""
    fields = line.split(",")
    if len(fields) != 3:
        return "wrong_field_count", None, None
    brand_text, date_text, time_text = fields
    key = " ".join(brand_text.split()).lower()
    if not key:
        return "blank_brand", None, None
    brand = CANONICAL.get(key) or ALIASES.get(key)
    if brand is None:
        return "unknown_brand", None, None
    if not DATE_RE.fullmatch(date_text):
        return "invalid_date", None, None
    try:
        date = dt.date.fromisoformat(date_text)
    except ValueError:
        return "invalid_date", None, None
    if not TIME_RE.fullmatch(time_text):
        return "invalid_time", None, None
    first, last = datagen.quarter_bounds(quarter)
    if not first <= date <= last:
        return "outside_ingest_quarter", None, None
    return None, brand, date


def oracle(out_dir: Path, quarter: str) -> dict[str, Any]:
    """The run-report fields a correct job must produce for one ingest quarter, from the files alone."""
    lines = [
        line
        for path in sorted((out_dir / f"ingest_quarter={quarter}").glob("part-*.csv"))
        for line in path.read_text(encoding="utf-8").split("\n")[:-1]
    ]
    rejected: Counter[str] = Counter()
    valid: dict[str, tuple[str, dt.date]] = {}
    valid_rows = 0
    for line in lines:
        reason, brand, date = classify(line, quarter)
        if reason is not None:
            rejected[reason] += 1
        else:
            assert brand is not None and date is not None
            valid_rows += 1
            valid[line] = (brand, date)
    per_brand = Counter(brand for brand, _ in valid.values())
    dates = [date for _, date in valid.values()]
    return {
        "rows_read": len(lines),
        "rows_valid": len(valid),
        "rows_rejected": sum(rejected.values()),
        "rejected_by_reason": {reason: rejected[reason] for reason in datagen.REASONS},
        "duplicates_dropped": valid_rows - len(valid),
        "recovered_brand_variants": sum(1 for line, (brand, _) in valid.items() if line.split(",")[0] != brand),
        "brands_seen": sorted(per_brand),
        "valid_by_brand": dict(sorted(per_brand.items())),
        "date_range": {"min": min(dates).isoformat(), "max": max(dates).isoformat()}
        if dates
        else {"min": None, "max": None},
        "quarters": [quarter] if valid else [],
        "rows_written": {
            "clean": len(valid),
            "quarantine": sum(rejected.values()),
            "aggregated_daily": len(set(valid.values())),
            "aggregated_quarterly": len(per_brand),
        },
    }


def files_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def sample_lines() -> list[str]:
    return [
        line
        for path in sorted(SAMPLE_DIR.rglob("part-*.csv"))
        for line in path.read_text(encoding="utf-8").split("\n")[:-1]
    ]


def test_committed_sample_regenerates_byte_for_byte(tmp_path: Path) -> None:
    truth = json.loads(SAMPLE_TRUTH.read_text(encoding="utf-8"))
    out, truth_file = tmp_path / "car_brands", tmp_path / "truth.json"
    datagen.generate(
        out,
        rows=truth["rows"],
        quarter=truth["quarter"],
        dirty_share=truth["dirty_share"],
        seed=truth["seed"],
        parts=truth["parts"],
        truth_path=truth_file,
    )
    assert files_of(out) == files_of(SAMPLE_DIR)
    assert truth_file.read_bytes() == SAMPLE_TRUTH.read_bytes()


def test_committed_default_truth_matches_the_generator_defaults() -> None:
    truth = json.loads(DEFAULT_TRUTH.read_text(encoding="utf-8"))
    assert (truth["rows"], truth["quarter"], truth["dirty_share"], truth["seed"], truth["parts"]) == (
        datagen.DEFAULT_ROWS,
        datagen.DEFAULT_QUARTER,
        datagen.DEFAULT_DIRTY_SHARE,
        datagen.DEFAULT_SEED,
        datagen.DEFAULT_PARTS,
    )


def test_same_arguments_give_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        datagen.generate(tmp_path / name / "data", rows=3000, seed=seed)
    assert files_of(tmp_path / "a") == files_of(tmp_path / "b")
    assert files_of(tmp_path / "a" / "data") != files_of(tmp_path / "c" / "data")


def test_regenerating_replaces_the_quarter_in_place(tmp_path: Path) -> None:
    out = tmp_path / "data"
    datagen.generate(out, rows=1000, quarter="2026-Q4", parts=2)
    before_q4 = files_of(out / "ingest_quarter=2026-Q4")
    datagen.generate(out, rows=1000, parts=6)
    datagen.generate(out, rows=1000, parts=3)  # fewer parts: the stale part-00003..5 must go
    assert sorted(p.name for p in (out / "ingest_quarter=2026-Q3").iterdir()) == [
        "part-00000.csv",
        "part-00001.csv",
        "part-00002.csv",
    ]
    assert files_of(out / "ingest_quarter=2026-Q4") == before_q4  # another quarter is never touched


def test_sample_truth_equals_the_oracle() -> None:
    truth = json.loads(SAMPLE_TRUTH.read_text(encoding="utf-8"))
    assert oracle(SAMPLE_DIR, truth["quarter"]) == truth["expected"]


def test_default_share_truth_equals_the_oracle(tmp_path: Path) -> None:
    truth = datagen.generate(tmp_path / "data", rows=20_000, quarter="2027-Q1")
    assert oracle(tmp_path / "data", "2027-Q1") == truth.expected
    assert truth.expected["date_range"] == {"min": "2027-01-01", "max": "2027-03-31"}
    assert json.loads((tmp_path / "truth" / "car_brands_2027-Q1.json").read_text())["expected"] == truth.expected


@settings(max_examples=30, deadline=None)
@given(
    rows=st.integers(min_value=0, max_value=400),
    dirty_share=st.floats(min_value=0.0, max_value=0.9),
    parts=st.integers(min_value=1, max_value=5),
    seed=st.integers(min_value=0, max_value=2**32),
    quarter=st.sampled_from(["2026-Q1", "2026-Q3", "2028-Q1", "2030-Q4"]),
)
def test_truth_equals_the_oracle_for_any_arguments(
    rows: int, dirty_share: float, parts: int, seed: int, quarter: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "data"
        truth = datagen.generate(out, rows=rows, quarter=quarter, dirty_share=dirty_share, seed=seed, parts=parts)
        assert oracle(out, quarter) == truth.expected
        expected = truth.expected
        assert expected["rows_read"] == rows
        assert rows == expected["rows_valid"] + expected["rows_rejected"] + expected["duplicates_dropped"]
        assert sum(truth.injected.values()) == rows
        assert len(list((out / f"ingest_quarter={quarter}").iterdir())) == parts


def test_sample_has_every_dirty_kind_and_every_template() -> None:
    truth = json.loads(SAMPLE_TRUTH.read_text(encoding="utf-8"))
    assert all(truth["injected"][kind] > 0 for kind in datagen.DIRTY_KINDS)
    assert all(count > 0 for count in truth["expected"]["rejected_by_reason"].values())
    lines = sample_lines()
    fields = [line.split(",") for line in lines]
    brands = {f[0] for f in fields if len(f) == 3}
    dates = {f[1] for f in fields if len(f) == 3}
    times = {f[2] for f in fields if len(f) == 3}
    assert set(datagen.BLANK_BRANDS) <= brands
    assert set(datagen.UNKNOWN_BRANDS) <= brands
    assert {text for text, _ in datagen.FIXED_VARIANTS} <= brands
    year = 2026
    assert {d.format(y=year) for d in datagen.INVALID_DATES} <= dates
    assert set(datagen.INVALID_TIMES) <= times
    for name, transform in datagen.CASE_VARIANTS:
        assert any(transform(b) in brands for b in datagen.BRANDS), name
    field_counts = Counter(len(f) for f in fields)
    assert field_counts[1] and field_counts[2] and field_counts[4]
    assert any(line.startswith("Mercedes, Benz,") for line in lines)
    assert len(lines) - len(set(lines)) == truth["expected"]["duplicates_dropped"]
    outside = [f for f in fields if len(f) == 3 and f[1][:7] in ("2026-06", "2026-10")]
    assert len(outside) == truth["expected"]["rejected_by_reason"]["outside_ingest_quarter"]


def test_every_generated_variant_is_recoverable_and_every_unknown_is_not() -> None:
    for text, canonical in datagen.FIXED_VARIANTS:
        assert classify(f"{text},2026-07-01,10:00:00", "2026-Q3") == (None, canonical, dt.date(2026, 7, 1))
    for brand in datagen.BRANDS:
        for _, transform in datagen.CASE_VARIANTS:
            assert classify(f"{transform(brand)},2026-07-01,10:00:00", "2026-Q3")[1] == brand
    for text in datagen.UNKNOWN_BRANDS:
        assert classify(f"{text},2026-07-01,10:00:00", "2026-Q3")[0] == "unknown_brand"


def test_layout_is_headerless_csv_in_one_folder_per_quarter(tmp_path: Path) -> None:
    out = tmp_path / "Data" / "car_brands"
    truth = datagen.generate(out, rows=10_001, parts=4)
    assert sorted(files_of(out)) == [f"ingest_quarter=2026-Q3/part-0000{i}.csv" for i in range(4)]
    assert sorted(truth.files) == sorted(files_of(out))
    assert (tmp_path / "Data" / "truth" / "car_brands_2026-Q3.json").is_file()  # beside, not inside, out
    counts = []
    for rel, data in files_of(out).items():
        text = data.decode("utf-8")
        assert text.endswith("\n") and "\r" not in text
        counts.append(text.count("\n"))
        assert not text.startswith("brand")
        assert hashlib.sha256(data).hexdigest() == truth.files[rel]
    assert sum(counts) == 10_001 and max(counts) - min(counts) <= 1
    months = [
        Counter(line[line.find(",") + 6 : line.find(",") + 8] for line in (out / rel).read_text().split("\n"))
        for rel in sorted(truth.files)
    ]
    assert months[0].most_common(1)[0][0] == "07" and months[-1].most_common(1)[0][0] == "09"  # time order


def test_rejects_bad_arguments(tmp_path: Path) -> None:
    out = tmp_path / "data"
    with pytest.raises(ValueError, match="quarter"):
        datagen.generate(out, rows=10, quarter="2026Q3")
    with pytest.raises(ValueError, match="dirty_share"):
        datagen.generate(out, rows=10, dirty_share=1.0)
    with pytest.raises(ValueError, match="parts"):
        datagen.generate(out, rows=10, parts=0)
    with pytest.raises(ValueError, match="rows"):
        datagen.generate(out, rows=-1)
    with pytest.raises(ValueError, match="outside out_dir"):
        datagen.generate(out, rows=10, truth_path=out / "truth.json")


def test_quarter_bounds() -> None:
    assert datagen.quarter_bounds("2026-Q1") == (dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    assert datagen.quarter_bounds("2028-Q1") == (dt.date(2028, 1, 1), dt.date(2028, 3, 31))
    assert datagen.quarter_bounds("2026-Q4") == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))


def test_allocate_splits_exactly() -> None:
    weights = datagen.DIRTY_KIND_WEIGHTS
    for total in (0, 1, 7, 199, 20_000):
        counts = datagen.allocate(total, weights)
        assert sum(counts.values()) == total and list(counts) == [k for k, _ in weights]


def test_cli_writes_data_and_truth(tmp_path: Path) -> None:
    out, truth = tmp_path / "raw", tmp_path / "elsewhere" / "t.json"
    stdout = io.StringIO()
    with redirect_stdout(stdout):
        code = datagen.main(["--out", str(out), "--rows", "500", "--quarter", "2026-Q2", "--parts", "2",
                             "--dirty-share", "0.1", "--seed", "3", "--truth", str(truth)])  # fmt: skip
    assert code == 0
    assert "wrote 500 rows" in stdout.getvalue()
    document = json.loads(truth.read_text())
    assert (document["rows"], document["quarter"], document["parts"], document["seed"]) == (500, "2026-Q2", 2, 3)
    assert oracle(out, "2026-Q2") == document["expected"]
    with pytest.raises(SystemExit):
        datagen.main(["--out", str(out), "--quarter", "Q5"])
