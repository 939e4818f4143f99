"""Generated benchmark data under $BENCH_DIR (never committed): the 1 GB many-file tree and the
1M / 10M-row car-brands data sets (`reconciler_local.datagen`). Each is built once and reused."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

from benchmarks.common import WORK

TREE_FILES = 2000
TREE_BYTES = 2**30  # 1 GiB in 2,000 files of 512 KiB (plus/minus: sizes vary a little)


def many_file_tree() -> Path:
    """2,000 files, 1 GiB in all, in 20 folders; incompressible content, fixed seed."""
    root = WORK / "tree-1g"
    marker = root / ".complete"
    if marker.exists():
        return root / "data"
    rng = random.Random(7)
    block = rng.randbytes(4 * 2**20)
    each = TREE_BYTES // TREE_FILES
    for i in range(TREE_FILES):
        folder = root / "data" / f"part={i % 20:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        start = rng.randrange(0, len(block) - each)
        # a unique header so no two files are equal, then a slice of the random block
        (folder / f"file-{i:05d}.bin").write_bytes(f"{i:08d}".encode() + block[start : start + each - 8])
    marker.write_text("ok")
    return root / "data"


def car_brands(rows: int) -> Path:
    """The deterministic generator's data set with `rows` rows (one quarter)."""
    root = WORK / f"car-brands-{rows}"
    marker = root / ".complete"
    if not marker.exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "reconciler_local.datagen",
                "--out",
                str(root / "data"),
                "--rows",
                str(rows),
                "--quarter",
                "2026-Q3",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        marker.write_text("ok")
    return root / "data"


def tree_size(root: Path) -> tuple[int, int]:
    files = [Path(d) / f for d, _, names in os.walk(root) for f in names]
    return len(files), sum(p.stat().st_size for p in files)


def car_brands_bulk(rows: int, parts: int = 4) -> Path:
    """`rows` raw lines of one quarter (2026-Q3) in the generator's layout, written by DuckDB in a minute or two.

    For volumes `reconciler_local.datagen` cannot write: it keeps every valid line unique, and one quarter
    has 20 brands x 92 days x 86,400 seconds = 159M possible lines, fewer than 100M drawn with its weights
    need (Volkswagen alone: 18M draws for 7.9M seconds), and it holds every line in memory. Here each line
    is a function of its number (DuckDB's `hash`, so the files are the same on every run): the brand by the
    generator's weights, a uniform day and second; 1 in 50 lines has one defect of the generator's kinds
    (a recoverable spelling, a blank or unknown brand, a bad date or time, a wrong field count, a date
    outside the quarter). Identical lines happen as they do in real exports (no event id): they are the
    duplicates. No truth file: check the job's report against `benchmarks/duckdb_job.py`'s counts.
    """
    import duckdb

    from reconciler_local.datagen import BRAND_WEIGHTS

    root = WORK / f"car-brands-bulk-{rows}"
    folder = root / "data" / "ingest_quarter=2026-Q3"
    marker = root / ".complete"
    if marker.exists():
        return root / "data"
    folder.mkdir(parents=True, exist_ok=True)
    weighted = [name for name, weight in BRAND_WEIGHTS for _ in range(round(weight * 2))]
    brands = "[" + ", ".join(f"'{name}'" for name in weighted) + "]"
    line = """
        CASE WHEN h(i, 4) % 50 <> 0 THEN b || ',' || d || ',' || t
             ELSE [' ' || lower(b) || ' ', '', 'Lada', 'Volkswagon'][1 + h(i, 5) % 4] || ',' || d || ',' || t
                  || ['', ',extra'][1 + h(i, 6) % 2]
        END"""
    dirty_date = "CASE WHEN h(i, 4) % 50 = 0 AND h(i, 7) % 4 = 0 THEN ['2026-13-45', '2026-06-30'][1 + h(i, 8) % 2]"
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET enable_progress_bar = false")
    con.execute("CREATE MACRO h(i, k) AS CAST(hash(i * 16 + k) >> 1 AS BIGINT)")
    for part in range(parts):
        first, last = part * rows // parts, (part + 1) * rows // parts
        con.execute(f"""
            COPY (
              SELECT {line} AS line FROM (
                SELECT i,
                       {brands}[1 + h(i, 1) % {len(weighted)}] AS b,
                       coalesce({dirty_date} END,
                                strftime(DATE '2026-07-01' + CAST(h(i, 2) % 92 AS INTEGER), '%Y-%m-%d')) AS d,
                       CASE WHEN h(i, 4) % 50 = 0 AND h(i, 7) % 4 = 1 THEN '24:00:00'
                            ELSE strftime(TIMESTAMP '2026-01-01' + to_seconds(CAST(h(i, 3) % 86400 AS BIGINT)),
                                          '%H:%M:%S') END AS t
                FROM range({first}, {last}) r(i)
              ) ORDER BY i
            ) TO '{folder}/part-{part:05d}.csv' (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\x01')
        """)
    con.close()
    marker.write_text("ok")
    return root / "data"
