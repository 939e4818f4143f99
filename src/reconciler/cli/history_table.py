"""`reconcile history` as a table: a few columns that fit 80 characters, every column with --wide.

Values are never cut (no `…` in a time or an id): columns are padded to their widest value, and a --wide
line longer than the terminal wraps as the terminal wraps it. `state` is how the run ended (`published`:
it published its quarter then); `live` says whether it is the run its quarter publishes now.
"""

from __future__ import annotations

from typing import Any

#: (header, shown only with --wide) per column
Column = tuple[str, bool]

COLUMNS: tuple[Column, ...] = (
    ("run id", False), ("quarter", False), ("state", False), ("started", True), ("crawl s", True),
    ("job s", True), ("total s", False), ("read", True), ("valid", True), ("quarantined", True),
    ("gate", False), ("live", False), ("cost $", True), ("spice", False),
)  # fmt: skip


def _cell(value: Any) -> str:
    return "-" if value is None or value == "" else f"{value:,}" if isinstance(value, int) else str(value)


def _values(row: dict[str, Any]) -> dict[str, str]:
    steps = row.get("steps") or {}
    return {
        "run id": str(row["run_id"]), "quarter": _cell(row.get("quarter")), "state": str(row.get("state")),
        "started": _cell(row.get("started_at")), "crawl s": _cell(steps.get("crawl")),
        "job s": _cell(steps.get("job")), "total s": _cell(row.get("total_seconds")),
        "read": _cell(row.get("rows_read")), "valid": _cell(row.get("rows_valid")),
        "quarantined": _cell(row.get("rows_quarantined")), "gate": _cell(row.get("gate")),
        "live": "yes" if row.get("published") else "no",
        "cost $": "-" if row.get("cost_usd") is None else f"{row['cost_usd']:.4f}",
        "spice": _cell(row.get("ingestion")),
    }  # fmt: skip


def history_lines(rows: list[dict[str, Any]], *, wide: bool) -> list[str]:
    """The header and one line per run, columns padded to their widest value, trailing spaces removed.
    `spice` (a QuickSight refresh per run) is shown only when some run has one."""
    has_spice = any(r.get("ingestion") for r in rows)
    headers = [name for name, only_wide in COLUMNS if (wide or not only_wide) and (name != "spice" or has_spice)]
    table = [headers, *([_values(r)[h] for h in headers] for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(headers))]
    return ["  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in table]
