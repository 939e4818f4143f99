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
        subprocess.run([sys.executable, "-m", "reconciler_local.datagen", "--out", str(root / "data"),
                        "--rows", str(rows), "--quarter", "2026-Q3"], check=True, stdout=subprocess.DEVNULL)
        marker.write_text("ok")
    return root / "data"


def tree_size(root: Path) -> tuple[int, int]:
    files = [Path(d) / f for d, _, names in os.walk(root) for f in names]
    return len(files), sum(p.stat().st_size for p in files)
