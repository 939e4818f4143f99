"""Worker for target 6 (run in its own process): start a local Spark session as the local endpoint's job
runtime does, run `car_brands_job.main(argv, spark)` `repeat` times on one data set, and print one JSON
line: start-up time, each run's time, the job's report and the stages that cost the most executor time
(from Spark's own REST API)."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# Same JVM options as the local endpoint's job runs (C1-only JIT starts faster on 2 cores); UI on for stages.
SUBMIT_ARGS = (
    "--master local[*] --conf spark.sql.shuffle.partitions=4 --conf spark.driver.bindAddress=127.0.0.1 "
    "--conf spark.ui.port=0 --driver-java-options=-XX:TieredStopAtLevel=1 pyspark-shell"
)


def stage_costs(spark: Any) -> list[dict[str, Any]]:
    url = spark.sparkContext.uiWebUrl
    app = spark.sparkContext.applicationId
    with urllib.request.urlopen(f"{url}/api/v1/applications/{app}/stages?status=complete", timeout=30) as response:
        stages = json.loads(response.read())
    by_name: dict[str, dict[str, Any]] = defaultdict(lambda: {"executor_ms": 0, "tasks": 0, "shuffle_write": 0})
    for stage in stages:
        entry = by_name[
            str(stage.get("name", "?")).split(" at ")[0] + " @ " + str(stage.get("name", "")).rsplit(":", 1)[-1]
        ]
        entry["executor_ms"] += int(stage.get("executorRunTime", 0))
        entry["tasks"] += int(stage.get("numTasks", 0))
        entry["shuffle_write"] += int(stage.get("shuffleWriteBytes", 0))
    total = sum(e["executor_ms"] for e in by_name.values()) or 1
    ranked = sorted(by_name.items(), key=lambda kv: -kv[1]["executor_ms"])[:4]
    return [{"stage": name, **entry, "share": entry["executor_ms"] / total} for name, entry in ranked]


def main() -> int:
    data, out, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
    os.environ["PYSPARK_SUBMIT_ARGS"] = SUBMIT_ARGS
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    sys.path.insert(0, str(REPO / "glue_scripts"))
    started = time.perf_counter()
    import car_brands_job
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("bench").getOrCreate()
    startup = time.perf_counter() - started
    runs: list[float] = []
    report: dict[str, Any] = {}
    for i in range(repeat):
        t0 = time.perf_counter()
        report = car_brands_job.main(
            ["--input_path", data, "--output_path", f"{out}/run{i}/", "--run_id", f"b{i}"], spark
        )
        runs.append(time.perf_counter() - t0)
    plan = ""
    try:
        frame = car_brands_job.validate_rows(car_brands_job.raw_lines(car_brands_job.read_text(spark, data)))
        plan = frame._jdf.queryExecution().executedPlan().toString()[:1500]
    except Exception as exc:  # the plan text is a nice-to-have
        plan = f"(no plan: {exc})"
    costs = stage_costs(spark)
    spark.stop()
    print(json.dumps({"startup": startup, "runs": runs, "report": report, "stages": costs, "plan": plan}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
