"""Every worker type in botocore's Glue WorkerType enum is priced from its DPUs, or explicitly unpriced: never
1 DPU by default (prices.json worker_dpu / worker_unpriced, quarterly/pricing.py)."""

from __future__ import annotations

import botocore.session

from reconciler.quarterly import pricing

GLUE = botocore.session.get_session().get_service_model("glue")
WORKER_TYPES: list[str] = GLUE.shape_for("WorkerType").metadata["enum"]


def _cost(worker_type: str) -> dict[str, object]:
    run = {"WorkerType": worker_type, "NumberOfWorkers": 2, "ExecutionTime": 3600}
    return pricing.cost("us-east-1", run, None)


def test_every_botocore_worker_type_is_priced_by_its_dpus_or_explicitly_unpriced() -> None:
    table = pricing.price_table()
    assert set(WORKER_TYPES) <= set(table["worker_dpu"]) | set(table["worker_unpriced"])
    for worker_type in WORKER_TYPES:
        cost = _cost(worker_type)
        if worker_type in table["worker_dpu"]:
            expected = 2 * table["worker_dpu"][worker_type] * pricing.region_prices("us-east-1")["etl_job_dpu_hour"]
            assert cost["job_usd"] == round(expected, 4), worker_type
        else:
            assert cost["job_usd"] is None and worker_type in str(cost["job_unpriced"]), worker_type
            assert cost["total_usd"] == 0.0


def test_the_large_g_workers_have_their_dpus_and_an_unknown_type_is_unpriced() -> None:
    assert _cost("G.12X")["job_usd"] == round(2 * 12 * 0.44, 4)
    assert _cost("G.16X")["job_usd"] == round(2 * 16 * 0.44, 4)
    assert "M-DPU" in str(_cost("R.2X")["job_unpriced"])
    assert "unknown worker type" in str(_cost("Q.99X")["job_unpriced"])
