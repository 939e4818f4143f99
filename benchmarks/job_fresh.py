"""The job as Glue starts it, against DuckDB: fresh processes, interleaved, truth-checked, peak memory.

    .venv/bin/python -m benchmarks.job_fresh --rows 1000000 10000000 -n 3
    .venv/bin/python -m benchmarks.job_fresh --rows 10000000 -n 2 --vs-java-options=-XX:+TieredCompilation
    git show main:glue_scripts/car_brands_job.py > "$BENCH_DIR/main_job.py"
    .venv/bin/python -m benchmarks.job_fresh --rows 1000000 10000000 -n 3 --vs-script "$BENCH_DIR/main_job.py"

Each repeat runs, one after the other, `python glue_scripts/car_brands_job.py --input_path ... --output_path
... --run_id ...` in a new process (Spark start-up included, as a Glue job run pays it) with the local
endpoint's job-runtime Spark settings (`SPARK_SUBMIT_ARGS` in reconciler_local/glue/job_runtime.py), then
`benchmarks/duckdb_job.py` in a new process on the same files (and, with `--vs-java-options` or
`--vs-script`, the Spark job again with other JVM options, the JIT comparison, or another version of the
job script, a before/after comparison). Order A B (C) A B (C): the same load for each engine.

Measured per run: wall time (process start to exit), peak resident memory of the whole process tree
(the Python driver, Spark's JVM and its workers; /proc sampled every 0.2 s, summed over the tree) and
the load average before it. The Spark report is checked against the generator's truth JSON (the same
fields the job tests compare); `--keep-last` keeps the last Spark output for inspection.
Data: $BENCH_DIR/car-brands-N (generated once by reconciler_local.datagen, one quarter, 2026-Q3).
Prints a markdown section (median of each column, every run, ratio per repeat and its median).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, WORK, fmt_runs, load_average, median
from benchmarks.data import car_brands, tree_size

JOB_SCRIPT = REPO / "glue_scripts" / "car_brands_job.py"
DUCKDB_WORKER = REPO / "benchmarks" / "duckdb_job.py"


def runtime_submit_args(java_options: str | None = None) -> str:
    """The endpoint's job-runtime settings, optionally with other driver JVM options."""
    from reconciler_local.glue.job_runtime import SPARK_SUBMIT_ARGS

    if java_options is None:
        return str(SPARK_SUBMIT_ARGS)
    parts = [p for p in SPARK_SUBMIT_ARGS.split() if not p.startswith("--driver-java-options")]
    parts.insert(len(parts) - 1, f"--driver-java-options={java_options}")
    return " ".join(parts)


def _tree_rss(root: int) -> int:
    """Resident bytes of `root` and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def timed_process(argv: list[str], env: dict[str, str], log: Path) -> dict[str, Any]:
    """Run `argv` to its end; wall seconds, peak tree RSS, load average before."""
    load = load_average()
    peak = 0
    with log.open("wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _tree_rss(process.pid))
                done.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = process.wait()
        wall = time.perf_counter() - started
        done.set()
        sampler.join()
    if code != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {code}; see {log}")
    return {"wall": wall, "peak_rss": peak, "load": load}


def spark_run(data: Path, out: Path, java_options: str | None, log: Path, script: Path = JOB_SCRIPT) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    env = dict(os.environ)
    env["PYSPARK_SUBMIT_ARGS"] = runtime_submit_args(java_options)
    env["PYSPARK_PYTHON"] = env["PYSPARK_DRIVER_PYTHON"] = sys.executable
    argv = [sys.executable, str(script), "--JOB_NAME", "car-brands-prepare", "--JOB_RUN_ID", "jr_bench",
            "--run_id", "jr_bench", "--input_path", f"{data}/", "--output_path", f"{out}/"]  # fmt: skip
    result = timed_process(argv, env, log)
    result["report"] = json.loads((out / "reports" / "run_report.json").read_text(encoding="utf-8"))
    return result


def duckdb_run(data: Path, out: Path, log: Path) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    result = timed_process([sys.executable, str(DUCKDB_WORKER), str(data), str(out), "1"], dict(os.environ), log)
    result["counts"] = json.loads(log.read_text(encoding="utf-8").strip().splitlines()[-1])["counts"]
    return result


def truth_mismatches(report: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Fields of the report that differ from the generator's truth (as tests/job compares them)."""
    bad: list[str] = []
    for key, value in expected.items():
        got = report.get(key)
        if key == "rows_written" and isinstance(got, dict):
            got = {k: got.get(k) for k in value}
        if got != value:
            bad.append(key)
    return bad


def measure(rows: int, repeat: int, vs_java: str | None, vs_script: Path | None, keep_last: bool) -> dict[str, Any]:
    data = car_brands(rows)
    expected = json.loads((data.parent / "truth" / "car_brands_2026-Q3.json").read_text(encoding="utf-8"))["expected"]
    work = WORK / "job-fresh" / str(rows)
    work.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[dict[str, Any]]] = {"spark": [], "duckdb": [], "spark_vs": []}
    for i in range(repeat):
        runs["spark"].append(spark_run(data, work / "spark", None, work / f"spark-{i}.log"))
        runs["duckdb"].append(duckdb_run(data, work / "duckdb", work / f"duckdb-{i}.log"))
        if vs_java is not None or vs_script is not None:
            log = work / f"spark-vs-{i}.log"
            runs["spark_vs"].append(spark_run(data, work / "spark-vs", vs_java, log, vs_script or JOB_SCRIPT))
        print(f"[{rows:,}] repeat {i + 1}: " + ", ".join(
            f"{k} {v[-1]['wall']:.1f} s" for k, v in runs.items() if v), file=sys.stderr, flush=True)  # fmt: skip
    if not keep_last:
        for name in ("spark", "duckdb", "spark-vs"):
            shutil.rmtree(work / name, ignore_errors=True)
    spark_reports = [r["report"] for r in runs["spark"] + runs["spark_vs"]]
    want = (expected["rows_read"], expected["rows_rejected"])
    return {
        "rows": rows,
        "bytes": tree_size(data)[1],
        "runs": runs,
        "truth": sorted({key for report in spark_reports for key in truth_mismatches(report, expected)}),
        "duckdb_same_counts": all(
            (r["counts"]["rows_read"], r["counts"]["rows_rejected"]) == want for r in runs["duckdb"]
        ),
    }


def render(results: list[dict[str, Any]], vs_java: str | None, vs_script: Path | None, submit_args: str) -> str:
    lines = [
        "| rows | Spark job, fresh process | DuckDB, fresh process | Spark / DuckDB (per repeat) | median ratio "
        "| Spark peak RSS (tree) | DuckDB peak RSS | truth check | load average before each Spark run |",
        "|---|---|---|---|---:|---:|---:|---|---|",
    ]
    for res in results:
        spark, duck = res["runs"]["spark"], res["runs"]["duckdb"]
        ratios = [s["wall"] / d["wall"] for s, d in zip(spark, duck, strict=True)]
        truth = "pass" if not res["truth"] else "FAIL: " + ", ".join(res["truth"])
        lines.append(
            f"| {res['rows']:,} ({res['bytes'] / 1e6:.0f} MB) | {fmt_runs([r['wall'] for r in spark])} "
            f"| {fmt_runs([r['wall'] for r in duck])} | {', '.join(f'{x:.1f}' for x in ratios)} "
            f"| **{median(ratios):.1f}x** | {max(r['peak_rss'] for r in spark) / 2**30:.2f} GiB "
            f"| {max(r['peak_rss'] for r in duck) / 2**30:.2f} GiB | {truth} "
            f"| {'; '.join(r['load'].split(' (')[0] for r in spark)} |"
        )
    if vs_java is not None or vs_script is not None:
        label = " and ".join(
            ([f"JVM options `{vs_java}`"] if vs_java is not None else [])
            + ([f"the job script `{vs_script.name}` given"] if vs_script is not None else [])
        )
        title = f"Compared, same repeats: this job with the runtime's settings vs {label}:"
        lines += ["", title, "",
                  "| rows | this job, runtime settings | the other run | other / this (per repeat) | median "
                  "| other / DuckDB (median) |",
                  "|---|---|---|---|---:|---:|"]  # fmt: skip
        for res in results:
            base, other = res["runs"]["spark"], res["runs"]["spark_vs"]
            ratios = [o["wall"] / b["wall"] for b, o in zip(base, other, strict=True)]
            duck = [o["wall"] / d["wall"] for o, d in zip(other, res["runs"]["duckdb"], strict=True)]
            lines.append(
                f"| {res['rows']:,} | {fmt_runs([r['wall'] for r in base])} | {fmt_runs([r['wall'] for r in other])} "
                f"| {', '.join(f'{x:.2f}' for x in ratios)} | **{median(ratios):.2f}** | {median(duck):.1f}x |"
            )
    lines += ["", f"Spark settings: `PYSPARK_SUBMIT_ARGS={submit_args}`; load after: {load_average()}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("-n", "--repeat", type=int, default=3)
    parser.add_argument("--vs-java-options", default=None, help="also run Spark with these driver JVM options")
    parser.add_argument("--vs-script", type=Path, default=None, help="also run this version of the job script")
    parser.add_argument("--keep-last", action="store_true")
    args = parser.parse_args(argv)
    results = [measure(rows, args.repeat, args.vs_java_options, args.vs_script, args.keep_last) for rows in args.rows]
    print(render(results, args.vs_java_options, args.vs_script, runtime_submit_args()))
    return 0 if all(not r["truth"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
