"""Helpers several test directories share; each reads live state with plain boto3, never our own readers."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any


def job_runs(glue: Any, job_name: str) -> list[dict[str, Any]]:
    """A Glue job's runs, oldest first."""
    runs: list[dict[str, Any]] = glue.get_job_runs(JobName=job_name)["JobRuns"]
    return sorted(runs, key=lambda run: run["StartedOn"])


REPO = Path(__file__).resolve().parents[1]
#: the KMS key of maximal_spec (its region is the example's)
MAXIMAL_KEY = "arn:aws:kms:eu-central-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def maximal_spec(text: str) -> str:
    """The example spec (pipeline.yaml's text) with every optional section a kind reads, so that every kind
    has something declared: `schedule.in_aws: true` (the EventBridge rule), a managed SNS topic, a QuickSight
    data set, SSE-KMS with a key ARN, and a Glue security configuration. A new kind adds its section here."""
    spec = text.replace("    in_aws: false", "    in_aws: true")
    at = spec.index("  publish:")
    spec = spec[:at] + "  notify:\n    sns_topic:\n      managed:\n        name: alerts\n" + spec[at:]
    dataset = "    dataset:\n      data_source: s\n      data_set: d\n"
    spec = spec.replace("      format: CSV\n", "      format: CSV\n" + dataset)
    spec = spec.replace("      type: SSE-S3 ", f"      type: SSE-KMS\n      kms_key_arn: {MAXIMAL_KEY}\n ")
    at = spec.index("  schedule:")
    spec = spec[:at] + ("  security_configuration:\n    name: encrypted\n    s3_encryption: SSE-KMS\n"
                        f"    cloudwatch_encryption: SSE-KMS\n    kms_key_arn: {MAXIMAL_KEY}\n") + spec[at:]
    assert "type: SSE-KMS" in spec and "dataset:" in spec, "pipeline.yaml no longer has what this edits"
    return spec


def make_spec_project(root: Path, spec_text: str | None = None) -> Path:
    """A project directory for spec tests: the spec (the repository's example unless given) and the upload
    sources and template it names. Callable again on the same directory (hypothesis reuses tmp_path)."""
    (root / "Data" / "car_brands").mkdir(parents=True, exist_ok=True)
    (root / "Data" / "car_brands" / "brands.csv").write_text("brand,country\nAudi,DE\n")
    (root / "glue_scripts").mkdir(exist_ok=True)
    (root / "glue_scripts" / "car_brands_job.py").write_text("print('prepare')\n")
    (root / "quicksight").mkdir(exist_ok=True)
    (root / "quicksight" / "manifest.template.json").write_text("{}\n")
    spec = root / "pipeline.yaml"
    spec.write_text(
        (REPO / "pipeline.yaml").read_text(encoding="utf-8") if spec_text is None else spec_text, encoding="utf-8"
    )
    return spec


def job_workers(glue: Any, job_name: str) -> int:
    """NumberOfWorkers of a Glue job as GetJob reports it."""
    return int(glue.get_job(JobName=job_name)["Job"]["NumberOfWorkers"])


GLUE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "glue.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


#: the suite's endpoint models IAM propagation: a role changed less than this long ago cannot be assumed yet
IAM_PROPAGATION_SECONDS = 2.0


def glue_role(iam: Any, name: str, path: str = "/", policy: dict[str, Any] | None = None) -> str:
    """Someone else's role that Glue may assume (under `path`, with `policy` inline if given), created with plain
    boto3 if missing; its ARN. The suite's endpoint resolves roles as AWS does (role_resolution): a crawler or job
    needs a role that exists, and a new one only after IAM propagation, which a person creating it by hand waits
    out too (once: the role and its policy are written before the wait)."""
    try:
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        arn = str(iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(GLUE_TRUST))
                  ["Role"]["Arn"])
        if policy is not None:
            iam.put_role_policy(RoleName=name, PolicyName="access", PolicyDocument=json.dumps(policy))
        time.sleep(IAM_PROPAGATION_SECONDS + 0.2)
        return arn


#: the role tests/local give their crawlers and jobs (fixture `glue_role_arn`): a service role as the console makes
#: it (path /service-role/), trusting Glue and allowed everything, since those tests are about Glue, not IAM
SUITE_GLUE_ROLE = "suite-glue-role"
SUITE_GLUE_ROLE_PATH = "/service-role/"
#: the role as a crawler or job names it (Glue accepts the ARN or `path/name`; a bare name would mean path /)
SUITE_GLUE_ROLE_ARN = f"arn:aws:iam::123456789012:role{SUITE_GLUE_ROLE_PATH}{SUITE_GLUE_ROLE}"
SUITE_GLUE_ROLE_POLICY = {"Version": "2012-10-17",
                          "Statement": [{"Effect": "Allow", "Action": ["s3:*", "glue:*", "logs:*"], "Resource": "*"}]}
