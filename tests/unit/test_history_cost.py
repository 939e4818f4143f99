"""The run record's cost and final state (quarterly/history.py, pricing.py): pure functions, no AWS."""

from __future__ import annotations

from datetime import date

import pytest

from reconciler.errors import GateError, LockError, RunError
from reconciler.quarterly.history import final_state
from reconciler.quarterly.pricing import cost, job_dpu_seconds, price_table


def test_the_price_table_is_dated_and_names_its_source() -> None:
    table = price_table()
    assert table["as_of"] and table["source"] == "https://aws.amazon.com/glue/pricing/"
    assert table["default_copy"] in table["copies"]
    for region, entry in table["regions"].items():  # every region's figures name a dated copy with its source
        copy = table["copies"][entry["copy"]]
        assert copy["source"] and date.fromisoformat(copy["as_of"]), region


def test_dpu_seconds_are_glues_own_figure_when_reported_else_time_times_workers() -> None:
    assert job_dpu_seconds({"DPUSeconds": 321.5, "ExecutionTime": 999}) == (321.5, True)
    assert job_dpu_seconds({"ExecutionTime": 600, "NumberOfWorkers": 10, "WorkerType": "G.2X"}) == (12000.0, False)
    assert job_dpu_seconds({"ExecutionTime": 600, "MaxCapacity": 2.0}) == (1200.0, False)
    assert job_dpu_seconds({"ExecutionTime": 60, "NumberOfWorkers": 2}) == (120.0, False)  # G.1X when unknown


def test_cost_applies_the_minimums_and_says_which_prices_it_used() -> None:
    # the pricing page's own example: 15 minutes on 6 DPUs is 6 DPU x 0.25 h x $0.44 = $0.66
    long_run = cost("us-east-1", {"ExecutionTime": 900, "NumberOfWorkers": 6, "WorkerType": "G.1X"}, None)
    assert long_run["job_usd"] == pytest.approx(0.66) and long_run["priced_as"] == "us-east-1"
    short = cost("us-east-1", {"ExecutionTime": 5, "NumberOfWorkers": 2, "WorkerType": "G.1X"}, 0.01)
    assert short["job_dpu_seconds"] == 120.0  # billed for the 1-minute minimum
    assert short["crawl_usd"] == pytest.approx(0.0044) and short["total_usd"] == pytest.approx(0.0147 + 0.0044)
    elsewhere = cost("eu-central-1", None, 0.5)  # its copy has no crawler rate: said, never us-east-1's
    assert elsewhere["region"] == elsewhere["priced_as"] == "eu-central-1" and "crawl_usd" not in elsewhere
    assert elsewhere["crawl_unpriced"] == "crawler unpriced in eu-central-1: price list dated 2023-02-06 has no entry"
    assert elsewhere["total_usd"] == 0.0
    flex = cost("us-east-1", {"ExecutionTime": 3600, "NumberOfWorkers": 1, "ExecutionClass": "FLEX"}, None)
    assert flex["job_usd"] == pytest.approx(0.29)


@pytest.mark.parametrize(("error", "step", "state"), [
    (None, None, "succeeded"),
    (GateError("run x failed the quality gate"), "gate", "gate_failed"),
    (LockError("lost the pipeline lock"), "gate", "lock_lost"),
    (RunError("timed out after 60s waiting for job 'j' run r (stopped it)"), "job", "timed_out"),
    (RunError("interrupted: stopped job 'j' run r"), "job", "interrupted"),
    (KeyboardInterrupt(), "crawl", "interrupted"),
    (RunError("crawler 'c' ended FAILED: boom"), "crawl", "crawl_failed"),
    (RunError("job 'j' run r ended STOPPED: stopped"), "job", "job_failed"),
    (RunError("the job wrote no report"), "gate", "failed"),
])  # fmt: skip
def test_final_state_names_how_the_run_ended(error: BaseException | None, step: str | None, state: str) -> None:
    assert final_state(error, step, published=False) == state
    if error is None:
        assert final_state(None, None, published=True) == "published"
