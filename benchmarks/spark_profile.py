"""Where a Spark run's time went, from its event log: stages by executor run time, with CPU, GC, spill.

    PYSPARK_SUBMIT_ARGS="--conf spark.eventLog.enabled=true --conf spark.eventLog.dir=$BENCH_DIR/events ..."
    .venv/bin/python -m benchmarks.spark_profile "$BENCH_DIR/events/local-1234"

Prints a markdown table (one row per stage, largest first) and the totals.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any


def stages(log: Path) -> list[dict[str, Any]]:
    tasks: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    names: dict[int, str] = {}
    with log.open(encoding="utf-8") as handle:
        for line in handle:
            event = json.loads(line)
            kind = event.get("Event")
            if kind == "SparkListenerStageCompleted":
                info = event["Stage Info"]
                names[info["Stage ID"]] = info["Stage Name"]
                tasks[info["Stage ID"]]["wall"] = (info["Completion Time"] - info["Submission Time"]) / 1000
            elif kind == "SparkListenerTaskEnd" and event.get("Task Metrics"):
                metrics, into = event["Task Metrics"], tasks[event["Stage ID"]]
                into["tasks"] += 1
                into["run"] += metrics["Executor Run Time"] / 1000
                into["cpu"] += metrics["Executor CPU Time"] / 1e9
                into["gc"] += metrics["JVM GC Time"] / 1000
                into["spill"] += metrics["Disk Bytes Spilled"]
                into["input"] += metrics["Input Metrics"]["Records Read"]
                into["shuffle_read"] += metrics["Shuffle Read Metrics"]["Remote Bytes Read"]
                into["shuffle_read"] += metrics["Shuffle Read Metrics"]["Local Bytes Read"]
                into["shuffle_write"] += metrics["Shuffle Write Metrics"]["Shuffle Bytes Written"]
    return [{"stage": sid, "name": names.get(sid, "?"), **values} for sid, values in tasks.items()]


def render(rows: list[dict[str, Any]]) -> str:
    total = sum(r["run"] for r in rows) or 1.0
    lines = [
        "| stage | name | stage wall | executor run | share | CPU | GC | tasks | input records | shuffle read "
        "| shuffle write | spilled to disk |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in sorted(rows, key=lambda r: -r["run"]):
        lines.append(
            f"| {r['stage']} | {r['name']} | {r.get('wall', 0):.1f} s | {r['run']:.1f} s | {r['run'] / total:.0%} "
            f"| {r['cpu']:.1f} s | {r['gc']:.1f} s | {int(r['tasks'])} | {int(r['input']):,} "
            f"| {r['shuffle_read'] / 1e6:.1f} MB | {r['shuffle_write'] / 1e6:.1f} MB | {r['spill'] / 1e6:.1f} MB |"
        )
    cpu, gc = sum(r["cpu"] for r in rows), sum(r["gc"] for r in rows)
    lines.append(f"\ntotal executor run time {total:.1f} s, CPU {cpu:.1f} s, GC {gc:.1f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    for name in args:
        print(f"### {name}\n\n{render(stages(Path(name)))}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
