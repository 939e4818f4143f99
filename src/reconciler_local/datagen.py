"""Deterministic generator of the raw car-brands data set, and of the truth the Glue job must report.

The raw data keeps the original project's shape: headerless CSV lines ``brand,date,time``
(``YYYY-MM-DD``, ``HH:MM:SS``), one line per event, laid out one folder per ingested quarter::

    <out>/ingest_quarter=2026-Q3/part-00000.csv ... part-00003.csv

A small, configurable share of the rows is dirty in the ways real exports are. Each dirty row has exactly
one defect, so its fate in the job is unambiguous:

==========================  =====================================================  ==========================
kind                        examples                                               what the job does
==========================  =====================================================  ==========================
``brand_variant``           ``" bmw"``, ``"VW"``, ``"Mercedes Benz"``, ``"Škoda"``   *recoverable*: kept, brand
                                                                                   canonicalised (trim, case,
                                                                                   inner whitespace, alias)
``blank_brand``             ``""``, ``"   "``, ``"\\t"``                              rejected ``blank_brand``
``unknown_brand``           ``"Volkswagon"``, ``"BWM"``, ``"N/A"``, ``"Lada"``         rejected ``unknown_brand``
``invalid_date``            ``"2026-13-45"``, ``"31/07/2026"``, ``"2026-09-31"``, ``""``  rejected ``invalid_date``
``invalid_time``            ``"25:61:00"``, ``"24:00:00"``, ``"7:05:00"``, ``""``        rejected ``invalid_time``
``wrong_field_count``       ``"BMW,2026-07-01"``, ``"BMW,2026-07-01,12:00:00,x"``     rejected ``wrong_field_count``
``outside_ingest_quarter``  a valid event dated a few days outside the folder's      rejected
                            quarter (a late or early export)                       ``outside_ingest_quarter``
``duplicate``               an exact copy of an earlier valid line, re-sent later  dropped (one copy kept)
==========================  =====================================================  ==========================

A spelling is *recoverable* exactly when it is in the job's alias table
(``glue_scripts/car_brands_job.py``: ``BRAND_ALIASES``) or differs from a canonical name only in case and
whitespace; anything else is an unknown brand, however close it looks (``"Volkswagon"`` is not guessed).

Every valid line (clean or variant) is unique, so the only exact duplicates are the injected ones and the
truth's ``duplicates_dropped`` is exact. Randomness comes only from ``random.Random.random()`` seeded with
a string, the one part of :mod:`random` that Python promises to keep stable across versions: the same
arguments give byte-identical files.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import hashlib
import itertools
import json
import random
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT_VERSION = "1"
DEFAULT_SEED = 20260701
DEFAULT_ROWS = 1_000_000
DEFAULT_QUARTER = "2026-Q3"
DEFAULT_DIRTY_SHARE = 0.02
DEFAULT_PARTS = 4

# Canonical brands and their share of events (roughly a European new-registration mix: long tail).
BRAND_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("Volkswagen", 18.0),
    ("Mercedes-Benz", 9.5),
    ("BMW", 8.5),
    ("Audi", 7.5),
    ("Skoda", 7.0),
    ("Opel", 5.5),
    ("Ford", 5.5),
    ("Toyota", 5.0),
    ("Seat", 4.5),
    ("Hyundai", 4.0),
    ("Renault", 3.5),
    ("Fiat", 3.0),
    ("Kia", 3.0),
    ("Tesla", 2.5),
    ("Peugeot", 2.5),
    ("Mazda", 2.0),
    ("Volvo", 2.0),
    ("Nissan", 1.5),
    ("Citroen", 1.5),
    ("Porsche", 1.0),
)
BRANDS: tuple[str, ...] = tuple(name for name, _ in BRAND_WEIGHTS)

# Rejection reasons, in the order the job checks them (a row gets the first that applies).
REASONS: tuple[str, ...] = (
    "wrong_field_count",
    "blank_brand",
    "unknown_brand",
    "invalid_date",
    "invalid_time",
    "outside_ingest_quarter",
)

# How the dirty share splits across kinds (weights, normalised).
DIRTY_KIND_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("brand_variant", 30.0),
    ("duplicate", 20.0),
    ("blank_brand", 8.0),
    ("unknown_brand", 8.0),
    ("invalid_date", 10.0),
    ("invalid_time", 10.0),
    ("wrong_field_count", 9.0),
    ("outside_ingest_quarter", 5.0),
)
DIRTY_KINDS: tuple[str, ...] = tuple(kind for kind, _ in DIRTY_KIND_WEIGHTS)

# Recoverable spellings. Either a fixed spelling of one brand (an alias the job's table knows, or a
# case/whitespace form of it), or a transformation applied to a brand drawn at random.
FIXED_VARIANTS: tuple[tuple[str, str], ...] = (
    ("VW", "Volkswagen"),
    ("vw ", "Volkswagen"),
    ("Mercedes Benz", "Mercedes-Benz"),
    ("MERCEDES BENZ", "Mercedes-Benz"),
    ("mercedes-benz", "Mercedes-Benz"),
    ("Mercedes  Benz", "Mercedes-Benz"),
    ("Mercedes", "Mercedes-Benz"),
    ("Škoda", "Skoda"),
    ("Citroën", "Citroen"),
    (" bmw", "BMW"),
)
CASE_VARIANTS: tuple[tuple[str, Callable[[str], str]], ...] = (
    ("lower", str.lower),
    ("upper", str.upper),
    ("leading_space", lambda b: " " + b),
    ("trailing_space", lambda b: b + " "),
    ("padded_lower", lambda b: "  " + b.lower() + " "),
    ("tab_padded", lambda b: "\t" + b),
)
# Not recoverable: misspellings the alias table deliberately does not guess, placeholders, and real
# brands outside the reference list.
UNKNOWN_BRANDS: tuple[str, ...] = (
    "Volkswagon",
    "Mercedez",
    "BWM",
    "Toyta",
    "Peugot",
    "Hyundia",
    "N/A",
    "unknown",
    "NULL",
    "-",
    "Lada",
    "Trabant",
)
BLANK_BRANDS: tuple[str, ...] = ("", " ", "   ", "\t")
# Dates: wrong shape, impossible values, empty. (Nothing here parses as a real date.)
INVALID_DATES: tuple[str, ...] = (
    "2026-13-45",
    "31/07/2026",
    "",
    "{y}-09-31",
    "{y}-02-30",
    "{y}-07-32",
    "{y}-00-10",
    "{y}/07/15",
    "{y}0715",
    "{y}-7-5",
    "not a date",
)
INVALID_TIMES: tuple[str, ...] = (
    "25:61:00",
    "",
    "24:00:00",
    "12:60:00",
    "12:00:60",
    "7:05:00",
    "12:00",
    "12-00-00",
    "noon",
)
# Lines with too few or too many comma-separated fields ({b} brand, {d} date, {t} time).
WRONG_FIELD_COUNTS: tuple[str, ...] = (
    "{b},{d}",
    "{b}",
    "{b},{d},{t},extra",
    "{b},{d},{t},",
    "Mercedes, Benz,{d},{t}",
    "{b};{d};{t}",
)

# Events per hour of day (a daytime-heavy curve) and per weekday (Monday first; weekends quieter).
HOUR_WEIGHTS: tuple[float, ...] = (
    1, 0.6, 0.4, 0.4, 0.5, 1, 2.5, 5, 7, 7.5, 7, 7, 7.5, 7, 7, 7, 7.5, 8, 7, 5.5, 4, 3, 2, 1.5,
)  # fmt: skip
WEEKDAY_WEIGHTS: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 1.05, 0.7, 0.45)

SECONDS_PER_DAY = 86_400
_QUARTER_RE = re.compile(r"^(\d{4})-Q([1-4])$")


@dataclass(frozen=True)
class Truth:
    """What was written and what the job must report about it.

    ``expected`` holds exactly the run-report fields (same names, same shapes) that the job's report must
    equal for a run over this quarter alone; ``injected`` counts rows per generator kind.
    """

    quarter: str
    rows: int
    seed: int
    dirty_share: float
    parts: int
    files: dict[str, str]  # path relative to out_dir -> sha256 of its bytes
    injected: dict[str, int]
    expected: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "generator": "reconciler_local.datagen",
            "quarter": self.quarter,
            "rows": self.rows,
            "seed": self.seed,
            "dirty_share": self.dirty_share,
            "parts": self.parts,
            "files": self.files,
            "injected": self.injected,
            "expected": self.expected,
        }


def quarter_bounds(quarter: str) -> tuple[dt.date, dt.date]:
    """First and last day of a quarter label like ``2026-Q3``."""
    match = _QUARTER_RE.match(quarter)
    if match is None:
        raise ValueError(f"quarter must look like 2026-Q3, got {quarter!r}")
    year, number = int(match.group(1)), int(match.group(2))
    first = dt.date(year, 3 * (number - 1) + 1, 1)
    following = dt.date(year + 1, 1, 1) if number == 4 else dt.date(year, 3 * number + 1, 1)
    return first, following - dt.timedelta(days=1)


def default_truth_path(out_dir: Path, quarter: str) -> Path:
    """``<out_dir>/../truth/car_brands_<quarter>.json``: beside the data, outside the crawled folder."""
    return out_dir.parent / "truth" / f"car_brands_{quarter}.json"


def allocate(total: int, weights: Sequence[tuple[str, float]]) -> dict[str, int]:
    """Split ``total`` across named weights (largest remainder, ties in declaration order)."""
    weight_sum = sum(w for _, w in weights)
    exact = [(name, total * w / weight_sum) for name, w in weights]
    counts = {name: int(share) for name, share in exact}
    left = total - sum(counts.values())
    by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i][1] - int(exact[i][1])), i))
    for i in by_remainder[:left]:
        counts[exact[i][0]] += 1
    return counts


class _Draw:
    """All randomness, from ``random()`` only (stable across Python versions for a given seed)."""

    def __init__(self, seed: int, quarter: str) -> None:
        self.random = random.Random(f"car-brands:{seed}:{quarter}").random

    def below(self, n: int) -> int:
        return min(int(self.random() * n), n - 1)

    def weighted(self, cumulative: Sequence[float]) -> int:
        """An index drawn with the weights whose running sums are ``cumulative``."""
        return min(bisect.bisect_right(cumulative, self.random() * cumulative[-1]), len(cumulative) - 1)


@dataclass
class _Event:
    brand: int  # index into BRANDS
    day: int  # days since the quarter's first day (may be negative or past the end for outside rows)
    second: int  # second of the day


def _cumulative(weights: Sequence[float]) -> list[float]:
    return list(itertools.accumulate(weights))


def generate(
    out_dir: Path,
    *,
    rows: int = DEFAULT_ROWS,
    quarter: str = DEFAULT_QUARTER,
    dirty_share: float = DEFAULT_DIRTY_SHARE,
    seed: int = DEFAULT_SEED,
    parts: int = DEFAULT_PARTS,
    truth_path: Path | None = None,
) -> Truth:
    """Write ``rows`` raw lines for ``quarter`` under ``out_dir`` and the truth JSON; return the truth.

    Files: ``out_dir/ingest_quarter=<quarter>/part-NNNNN.csv`` (``parts`` files of near-equal row counts,
    lines ordered by event time as an export would be). Existing ``part-*.csv`` files in that quarter's
    folder are replaced; other quarters' folders are never touched. The truth goes to ``truth_path``
    (default :func:`default_truth_path`), which must lie outside ``out_dir`` so crawlers never see it.
    """
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    if not 0.0 <= dirty_share < 1.0:
        raise ValueError(f"dirty_share must be in [0, 1), got {dirty_share}")
    if parts < 1:
        raise ValueError(f"parts must be >= 1, got {parts}")
    first_day, last_day = quarter_bounds(quarter)
    truth_file = truth_path if truth_path is not None else default_truth_path(out_dir, quarter)
    if truth_file.resolve().is_relative_to(out_dir.resolve()):
        raise ValueError(f"truth_path {truth_file} must lie outside out_dir {out_dir} (crawlers read out_dir)")

    days = (last_day - first_day).days + 1
    draw = _Draw(seed, quarter)
    dirty = allocate(round(rows * dirty_share), DIRTY_KIND_WEIGHTS)
    clean_rows = rows - sum(dirty.values())
    if clean_rows + dirty["brand_variant"] == 0:  # nothing valid to duplicate
        clean_rows, dirty["duplicate"] = dirty["duplicate"], 0

    brand_cum = _cumulative([w for _, w in BRAND_WEIGHTS])
    day_cum = _cumulative([WEEKDAY_WEIGHTS[(first_day + dt.timedelta(d)).weekday()] for d in range(days)])
    hour_cum = _cumulative(HOUR_WEIGHTS)
    year = first_day.year

    def date_text(day: int) -> str:
        return (first_day + dt.timedelta(days=day)).isoformat()

    date_texts = [date_text(d) for d in range(days)]
    time_texts = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(SECONDS_PER_DAY)]

    def event_second() -> int:
        return draw.weighted(hour_cum) * 3600 + draw.below(3600)

    taken: set[int] = set()

    def unique_event(brand: int) -> _Event:
        # Valid lines must be unique so that the only exact duplicates are the injected ones.
        while True:
            day, second = draw.weighted(day_cum), event_second()
            key = (brand * days + day) * SECONDS_PER_DAY + second
            if key not in taken:
                taken.add(key)
                return _Event(brand, day, second)

    def any_event() -> _Event:
        return _Event(draw.weighted(brand_cum), draw.weighted(day_cum), event_second())

    # (sort key, line): sort key = seconds since the quarter's start, the order an export would have.
    # Valid lines come first (clean, then variants), so keys[:n_valid] / texts[:n_valid] are the valid ones.
    keys: list[int] = []
    texts: list[str] = []
    brand_counts = [0] * len(BRANDS)
    brand_days: set[int] = set()  # brand * days + day, for each valid event

    def add_valid(event: _Event, brand_text: str) -> None:
        date, clock = date_texts[event.day], time_texts[event.second]
        keys.append(event.day * SECONDS_PER_DAY + event.second)
        texts.append(f"{brand_text},{date},{clock}")
        brand_counts[event.brand] += 1
        brand_days.add(event.brand * days + event.day)

    # The bulk of the rows: the same draws as unique_event() + add_valid(), inlined (2x faster).
    rnd, bisect_right = draw.random, bisect.bisect_right
    brand_total, day_total, hour_total = brand_cum[-1], day_cum[-1], hour_cum[-1]
    last_brand, last_day_index, last_hour = len(brand_cum) - 1, len(day_cum) - 1, len(hour_cum) - 1
    for _ in range(clean_rows):
        brand = min(bisect_right(brand_cum, rnd() * brand_total), last_brand)
        while True:
            day = min(bisect_right(day_cum, rnd() * day_total), last_day_index)
            hour = min(bisect_right(hour_cum, rnd() * hour_total), last_hour)
            second = hour * 3600 + min(int(rnd() * 3600), 3599)
            key = (brand * days + day) * SECONDS_PER_DAY + second
            if key not in taken:
                taken.add(key)
                break
        keys.append(day * SECONDS_PER_DAY + second)
        texts.append(f"{BRANDS[brand]},{date_texts[day]},{time_texts[second]}")
        brand_counts[brand] += 1
        brand_days.add(brand * days + day)

    brand_index = {name: i for i, name in enumerate(BRANDS)}
    case_templates = len(FIXED_VARIANTS) + len(CASE_VARIANTS)
    for i in range(dirty["brand_variant"]):
        template = i % case_templates
        if template < len(FIXED_VARIANTS):
            text, canonical = FIXED_VARIANTS[template]
            brand = brand_index[canonical]
        else:
            transform = CASE_VARIANTS[template - len(FIXED_VARIANTS)][1]
            brand = draw.weighted(brand_cum)
            while transform(BRANDS[brand]) == BRANDS[brand]:  # e.g. upper("BMW"): not a variant
                brand = (brand + 1) % len(BRANDS)
            text = transform(BRANDS[brand])
        add_valid(unique_event(brand), text)

    def add_dirty(event: _Event, line: str) -> None:
        keys.append(event.day * SECONDS_PER_DAY + event.second)
        texts.append(line)

    def parts_of(event: _Event) -> tuple[str, str, str]:
        return BRANDS[event.brand], date_texts[event.day], time_texts[event.second]

    for i in range(dirty["blank_brand"]):
        event = any_event()
        _, date, clock = parts_of(event)
        add_dirty(event, f"{BLANK_BRANDS[i % len(BLANK_BRANDS)]},{date},{clock}")
    for i in range(dirty["unknown_brand"]):
        event = any_event()
        _, date, clock = parts_of(event)
        add_dirty(event, f"{UNKNOWN_BRANDS[i % len(UNKNOWN_BRANDS)]},{date},{clock}")
    for i in range(dirty["invalid_date"]):
        event = any_event()
        name, _, clock = parts_of(event)
        add_dirty(event, f"{name},{INVALID_DATES[i % len(INVALID_DATES)].format(y=year)},{clock}")
    for i in range(dirty["invalid_time"]):
        event = any_event()
        name, date, _ = parts_of(event)
        add_dirty(event, f"{name},{date},{INVALID_TIMES[i % len(INVALID_TIMES)]}")
    for i in range(dirty["wrong_field_count"]):
        event = any_event()
        name, date, clock = parts_of(event)
        add_dirty(event, WRONG_FIELD_COUNTS[i % len(WRONG_FIELD_COUNTS)].format(b=name, d=date, t=clock))
    for i in range(dirty["outside_ingest_quarter"]):
        # A valid event 1-10 days before the quarter (even i) or after it (odd i).
        offset = 1 + draw.below(10)
        day = -offset if i % 2 == 0 else days - 1 + offset
        event = _Event(draw.weighted(brand_cum), day, event_second())
        add_dirty(event, f"{BRANDS[event.brand]},{date_text(day)},{time_texts[event.second]}")
    n_valid = clean_rows + dirty["brand_variant"]
    for _ in range(dirty["duplicate"]):
        original = draw.below(n_valid)
        keys.append(keys[original] + draw.below(6 * 3600))  # re-sent up to six hours later
        texts.append(texts[original])

    # Export order: by event time; the sort is stable, so ties keep generation order (deterministic).
    order = sorted(range(len(keys)), key=keys.__getitem__)

    quarter_dir = out_dir / f"ingest_quarter={quarter}"
    quarter_dir.mkdir(parents=True, exist_ok=True)
    for stale in quarter_dir.glob("part-*.csv"):
        stale.unlink()
    files: dict[str, str] = {}
    for part in range(parts):
        chunk = order[part * len(order) // parts : (part + 1) * len(order) // parts]
        data = "".join([texts[i] + "\n" for i in chunk]).encode("utf-8")
        path = quarter_dir / f"part-{part:05d}.csv"
        path.write_bytes(data)
        files[path.relative_to(out_dir).as_posix()] = hashlib.sha256(data).hexdigest()

    valid = n_valid
    per_brand = {name: count for name, count in sorted(zip(BRANDS, brand_counts, strict=True)) if count}
    valid_days = {key % days for key in brand_days}
    rejected = {reason: dirty.get(reason, 0) for reason in REASONS}
    year_quarter = f"{first_day.year}-Q{(first_day.month - 1) // 3 + 1}"
    truth = Truth(
        quarter=quarter,
        rows=rows,
        seed=seed,
        dirty_share=dirty_share,
        parts=parts,
        files=files,
        injected={"clean": clean_rows, **dirty},
        expected={
            "rows_read": rows,
            "rows_valid": valid,
            "rows_rejected": sum(rejected.values()),
            "rejected_by_reason": rejected,
            "duplicates_dropped": dirty["duplicate"],
            "recovered_brand_variants": dirty["brand_variant"],
            "brands_seen": sorted(per_brand),
            "valid_by_brand": per_brand,
            "date_range": (
                {"min": date_texts[min(valid_days)], "max": date_texts[max(valid_days)]}
                if valid_days
                else {"min": None, "max": None}
            ),
            "quarters": [year_quarter] if valid else [],
            "rows_written": {
                "clean": valid,
                "quarantine": sum(rejected.values()),
                "aggregated_daily": len(brand_days),
                "aggregated_quarterly": len(per_brand),
            },
        },
    )
    truth_file.parent.mkdir(parents=True, exist_ok=True)
    truth_file.write_text(json.dumps(truth.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return truth


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reconciler_local.datagen",
        description="Write the deterministic raw car-brands data set for one quarter, and its truth JSON.",
    )
    parser.add_argument("--out", type=Path, default=Path("Data/car_brands"), help="root of the raw layout")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="lines to write, duplicates included")
    parser.add_argument("--quarter", default=DEFAULT_QUARTER, help="quarter label, e.g. 2026-Q3")
    parser.add_argument("--dirty-share", type=float, default=DEFAULT_DIRTY_SHARE, help="share of dirty rows")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--parts", type=int, default=DEFAULT_PARTS, help="part files per quarter")
    parser.add_argument("--truth", type=Path, default=None, help="truth JSON path (default: <out>/../truth/)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        truth = generate(
            args.out,
            rows=args.rows,
            quarter=args.quarter,
            dirty_share=args.dirty_share,
            seed=args.seed,
            parts=args.parts,
            truth_path=args.truth,
        )
    except ValueError as exc:
        parser.error(str(exc))
    elapsed = time.perf_counter() - started
    truth_file = args.truth if args.truth is not None else default_truth_path(args.out, args.quarter)
    sys.stdout.write(
        f"wrote {truth.rows} rows ({truth.expected['rows_valid']} valid) in {len(truth.files)} files "
        f"under {args.out / ('ingest_quarter=' + truth.quarter)} in {elapsed:.2f}s; truth: {truth_file}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
