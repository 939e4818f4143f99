"""Every region is priced with its own figures from a dated copy of AWS's prices, or said to be unpriced:
never another region's figures (prices.json `regions` / `copies`, quarterly/pricing.py)."""

from __future__ import annotations

import pytest

from reconciler.quarterly import pricing
from reconciler.quarterly.sizing import ROW_BYTES, recommend
from reconciler.spec.regions import known_regions, partition_of

COMMERCIAL = sorted(r for r in known_regions() if partition_of(r) == "aws")
# the pricing page's own example: 15 minutes on 6 DPUs
EXAMPLE_RUN = {"ExecutionTime": 900, "NumberOfWorkers": 6, "WorkerType": "G.1X"}


def test_every_commercial_region_is_priced_by_its_own_entry_or_said_to_be_unpriced() -> None:
    table = pricing.price_table()
    assert len(COMMERCIAL) > 20
    for region in COMMERCIAL:
        cost = pricing.cost(region, EXAMPLE_RUN, 0.5)
        assert cost["priced_as"] == region and cost["region"] == region
        entry = table["regions"].get(region)
        if entry is not None and "etl_job_dpu_hour" in entry["prices"]:
            assert cost["job_usd"] == round(6 * 0.25 * entry["prices"]["etl_job_dpu_hour"], 4), region
        else:
            as_of = table["copies"][table["default_copy"]]["as_of"]
            assert cost["job_unpriced"] == f"job unpriced in {region}: price list dated {as_of} has no entry"
            assert cost["job_usd"] is None and cost["total_usd"] == 0.0
    assert set(table["regions"]) <= known_regions()  # no entry for a region botocore does not know


def test_a_priced_region_uses_its_own_rate() -> None:
    sao_paulo = pricing.cost("sa-east-1", EXAMPLE_RUN, None)
    assert sao_paulo["job_usd"] == pytest.approx(6 * 0.25 * 0.69)  # not us-east-1's 0.44
    assert sao_paulo["prices_as_of"] == "2023-02-06" and "AWSGlue" in sao_paulo["source"]
    virginia = pricing.cost("us-east-1", EXAMPLE_RUN, 0.5)
    assert virginia["job_usd"] == pytest.approx(0.66) and virginia["crawl_usd"] == pytest.approx(0.22)
    assert virginia["prices_as_of"] == "2026-12-01"


def test_a_region_missing_from_the_copy_is_unpriced_and_says_so() -> None:
    hyderabad = pricing.cost("ap-south-2", EXAMPLE_RUN, 0.5)
    missing = "unpriced in ap-south-2: price list dated 2023-02-06 has no entry"
    assert hyderabad["job_unpriced"] == f"job {missing}" and hyderabad["crawl_unpriced"] == f"crawler {missing}"
    assert hyderabad["total_usd"] == 0.0 and "crawl_usd" not in hyderabad


def test_eu_central_1_has_its_job_rate_and_says_its_crawler_and_flex_rates_are_missing() -> None:
    frankfurt = pricing.cost("eu-central-1", EXAMPLE_RUN, 0.5)
    assert frankfurt["job_usd"] == pytest.approx(0.66) and frankfurt["prices_as_of"] == "2023-02-06"
    missing = "unpriced in eu-central-1: price list dated 2023-02-06 has no entry"
    assert frankfurt["crawl_unpriced"] == f"crawler {missing}" and frankfurt["total_usd"] == pytest.approx(0.66)
    flex = pricing.cost("eu-central-1", {**EXAMPLE_RUN, "ExecutionClass": "FLEX"}, None)
    assert flex["job_usd"] is None and flex["job_unpriced"] == f"Flex job {missing}"


@pytest.mark.parametrize(("rows", "workers"), [(100_000, 2), (1_000_000, 2), (10_000_000, 3), (50_000_000, 5),
                                               (100_000_000, 7)])  # fmt: skip
def test_the_recommended_workers_grow_with_the_square_root_of_the_volume(rows: int, workers: int) -> None:
    best = recommend(round(rows * ROW_BYTES))
    assert (best["number_of_workers"], best["worker_type"]) == (workers, "G.1X")
    assert best["dpu_seconds"] >= workers * 60  # never under the 1-minute minimum


def test_show_names_an_unpriced_crawl_instead_of_printing_zero() -> None:
    line = pricing.describe_cost(pricing.cost("eu-central-1", EXAMPLE_RUN, 0.5))
    assert line == ("$0.6600: job $0.6600, crawl unpriced (crawler unpriced in eu-central-1: price list dated "
                    "2023-02-06 has no entry); eu-central-1, prices of 2023-02-06")  # fmt: skip
    assert "crawl $0.2200" in pricing.describe_cost(pricing.cost("us-east-1", EXAMPLE_RUN, 0.5))
