"""ARN partitions come from botocore's partition data (botocore/data/partitions.json): eusc-* is aws-eusc and the
ISO regions are aws-iso*, never aws."""

from __future__ import annotations

from pathlib import Path

from tests.unit.test_spec import MINIMAL

from reconciler.aws.context import AwsContext
from reconciler.spec.load import validate_file
from reconciler.spec.regions import partition_of


def test_each_region_has_its_partition_from_botocore() -> None:
    assert partition_of("eu-central-1") == "aws"
    assert partition_of("cn-north-1") == "aws-cn"
    assert partition_of("us-gov-west-1") == "aws-us-gov"
    assert partition_of("eusc-de-east-1") == "aws-eusc"
    assert partition_of("us-iso-east-1") == "aws-iso"
    assert partition_of("us-isob-east-1") == "aws-iso-b"
    assert AwsContext(region="eusc-de-east-1").partition == "aws-eusc"
    assert AwsContext(region="us-isof-south-1").partition == "aws-iso-f"


def test_a_role_arn_must_be_in_the_regions_partition(tmp_path: Path) -> None:
    spec = tmp_path / "pipeline.yaml"
    eusc = MINIMAL.replace("region: eu-west-1", "region: eusc-de-east-1")
    spec.write_text(eusc.replace("arn:aws:iam::", "arn:aws-eusc:iam::"))
    assert [p.message for p in validate_file(spec, {})] == []
    spec.write_text(eusc)
    (problem,) = validate_file(spec, {})
    assert "partition 'aws' does not match region 'eusc-de-east-1' (expected 'aws-eusc')" in problem.message
