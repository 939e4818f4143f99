"""Worker for target 6 (run by a Python that has duckdb, e.g. /tmp/duckdb-venv): the job's clean-and-
aggregate in DuckDB SQL on the same files, as a single-machine reference. Same row rules as
glue_scripts/car_brands_job.py (field count, blank/unknown brand with the same aliases, strict date and
time, ingest quarter), de-duplication on the raw line, clean/daily parquet, daily CSV and quarantine.
Prints one JSON line: each run's seconds and the row counts (to check against Spark's report)."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

# copies of the job's constants (this interpreter has no pyspark to import the job with)
CANONICAL = (
    "Audi", "BMW", "Citroen", "Fiat", "Ford", "Hyundai", "Kia", "Mazda", "Mercedes-Benz", "Nissan",
    "Opel", "Peugeot", "Porsche", "Renault", "Seat", "Skoda", "Tesla", "Toyota", "Volkswagen", "Volvo",
)  # fmt: skip
ALIASES = {"vw": "Volkswagen", "mercedes benz": "Mercedes-Benz", "mercedes": "Mercedes-Benz",
           "mercedesbenz": "Mercedes-Benz", "škoda": "Skoda", "citroën": "Citroen"}  # fmt: skip
WS = r"[\s\x{00A0}\x{2000}-\x{200B}\x{3000}\x{FEFF}]"

SQL = """
CREATE OR REPLACE TEMP TABLE validated AS
WITH raw AS (
  SELECT line AS raw_line, filename AS source_file,
         nullif(regexp_extract(filename, 'ingest_quarter=([^/]+)', 1), '') AS ingest_quarter
  FROM read_csv('{input}/**/*.csv', columns={{'line': 'VARCHAR'}}, header=false, delim='\\x01', quote='',
                escape='', auto_detect=false, filename=true)
), parsed AS (
  SELECT *, string_split(raw_line, ',') AS f FROM raw
), fields AS (
  SELECT raw_line, source_file, ingest_quarter, len(f) AS n_fields,
         CASE WHEN len(f) = 3 THEN f[1] END AS brand_text,
         CASE WHEN len(f) = 3 THEN f[2] END AS date_text,
         CASE WHEN len(f) = 3 THEN f[3] END AS time_text
  FROM parsed
), keyed AS (
  SELECT *, lower(regexp_replace(regexp_replace(brand_text, '^{ws}+|{ws}+$', '', 'g'), '{ws}+', ' ', 'g')) AS brand_key
  FROM fields
), checked AS (
  SELECT k.*, l.brand,
         CASE WHEN regexp_full_match(date_text, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}')
              THEN try_strptime(date_text, '%Y-%m-%d')::DATE END AS event_date,
         CASE WHEN regexp_full_match(time_text, '([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]')
              THEN substr(time_text, 1, 2)::INT * 3600 + substr(time_text, 4, 2)::INT * 60
                   + substr(time_text, 7, 2)::INT
         END AS second_of_day
  FROM keyed k LEFT JOIN lookup l ON l.key = k.brand_key
)
SELECT raw_line, source_file, ingest_quarter, brand_text, brand, event_date, second_of_day,
  CASE WHEN n_fields <> 3 THEN 'wrong_field_count'
       WHEN brand_key = '' THEN 'blank_brand'
       WHEN brand IS NULL THEN 'unknown_brand'
       WHEN event_date IS NULL THEN 'invalid_date'
       WHEN second_of_day IS NULL THEN 'invalid_time'
       WHEN regexp_full_match(coalesce(ingest_quarter, ''), '[0-9]{{4}}-Q[1-4]')
            AND printf('%04d-Q%d', year(event_date), quarter(event_date)) <> ingest_quarter
         THEN 'outside_ingest_quarter'
  END AS reject_reason
FROM checked;

CREATE OR REPLACE TEMP TABLE events AS
SELECT raw_line, brand, event_date, second_of_day, brand_text <> brand AS brand_recovered, count(*) AS copies
FROM validated WHERE reject_reason IS NULL GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE clean AS
SELECT brand, make_timestamp(epoch_us(event_date::TIMESTAMP) + second_of_day::BIGINT * 1000000) AS event_ts,
       event_date, month(event_date) AS month, day(event_date) AS day, isodow(event_date) AS day_of_week,
       second_of_day // 3600 AS hour, year(event_date) AS year, quarter(event_date) AS quarter
FROM events;

CREATE OR REPLACE TEMP TABLE daily AS
SELECT printf('%04d-Q%d', year, quarter) AS year_quarter, event_date, month(event_date) AS month,
       isodow(event_date) AS day_of_week, strftime(event_date, '%a') AS day_name, brand, count(*) AS events,
       year, quarter
FROM clean GROUP BY year, quarter, event_date, brand;

COPY clean TO '{out}/clean' (FORMAT parquet, PARTITION_BY (year, quarter));
COPY daily TO '{out}/aggregated/daily' (FORMAT parquet, PARTITION_BY (year, quarter));
COPY (SELECT year, quarter, year_quarter, event_date, month, day_of_week, day_name, brand, events FROM daily
      ORDER BY event_date, brand) TO '{out}/aggregated/csv/part-00000.csv' (HEADER);
COPY (SELECT reject_reason AS reason, source_file, raw_line, ingest_quarter FROM validated
      WHERE reject_reason IS NOT NULL) TO '{out}/quarantine/part-00000.csv' (HEADER);
"""


def run_once(duckdb: Any, data: str, out: Path) -> tuple[float, dict[str, int]]:
    if out.exists():
        shutil.rmtree(out)
    (out / "aggregated" / "csv").mkdir(parents=True)
    (out / "quarantine").mkdir(parents=True)
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("CREATE TEMP TABLE lookup (key VARCHAR, brand VARCHAR)")
    pairs = {b.lower(): b for b in CANONICAL} | ALIASES
    con.executemany("INSERT INTO lookup VALUES (?, ?)", list(pairs.items()))
    con.execute(SQL.format(input=data.rstrip("/"), out=out, ws=WS))
    seconds = time.perf_counter() - started
    counts = con.execute(
        "SELECT (SELECT count(*) FROM validated), (SELECT count(*) FROM validated WHERE reject_reason IS NOT NULL),"
        " (SELECT count(*) FROM events), (SELECT count(*) FROM daily)"
    ).fetchone()
    con.close()
    assert counts is not None
    return seconds, dict(zip(("rows_read", "rows_rejected", "events", "daily_rows"), map(int, counts), strict=True))


def main() -> int:
    import duckdb

    data, out, repeat = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    runs: list[float] = []
    counts: dict[str, int] = {}
    for i in range(repeat):
        seconds, counts = run_once(duckdb, data, out / f"run{i}")
        runs.append(seconds)
    print(json.dumps({"runs": runs, "counts": counts, "version": duckdb.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
