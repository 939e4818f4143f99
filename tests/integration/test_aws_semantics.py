"""What real AWS does that the endpoint did not show. Role references, IAM
propagation retries and trigger transitions, each on the real local endpoint."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.aws.context import AwsContext
from reconciler.engine.apply import execute, raise_for_result
from reconciler.engine.plan import build_plan
from reconciler.errors import AwsApiError
from reconciler.resources import glue_common, trigger
from reconciler.spec.load import load_spec
from reconciler.spec.model import MANAGED_TAG, OWNER_TAG
from reconciler_local.lifecycle import call_admin
from tests.helpers import glue_role

from .conftest import JOB, Project

CRAWLER = "car-brands-raw"
#: Glue's answer when the role is not (yet) assumable (terraform-provider-aws internal/service/glue/crawler.go)
UNABLE_TO_ASSUME = "Service is unable to assume provided role. Please verify role's TrustPolicy"


def test_crawler_and_job_are_given_the_managed_roles_full_arn(project: Project, aws: Any) -> None:
    """The managed role has the path /reconciler/<pipeline>/; a bare name means a path-less ARN."""
    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    role_arn = aws.client("iam").get_role(RoleName="car-brands-glue")["Role"]["Arn"]
    assert ":role/reconciler/car-brands/car-brands-glue" in role_arn
    glue = aws.client("glue")
    # Glue keeps the ARN or answers `path/name`: either way it must name the role with its path.
    resolves = glue_common.role_name
    assert resolves(glue.get_crawler(Name=CRAWLER)["Crawler"]["Role"]) == "reconciler/car-brands/car-brands-glue"
    assert resolves(glue.get_job(JobName=JOB)["Job"]["Role"]) == "reconciler/car-brands/car-brands-glue"
    # Real Glue answers GetCrawler with `path/name` (terraform-provider-aws crawler.go, the role
    # DiffSuppressFunc): that form of the same role is no drift either.
    glue.update_crawler(Name=CRAWLER, Role="reconciler/car-brands/car-brands-glue")
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0
    # ... but the same name at path / is another role: drift, planned back to the full ARN. No such role
    # exists (IAM role names are unique per account, whatever the path), so AWS would refuse this update
    # (role resolution); only with resolution off can the drift be made to plan it back.
    call_admin(aws.url, "settings", {"role_resolution": False})
    glue.update_crawler(Name=CRAWLER, Role="car-brands-glue")
    call_admin(aws.url, "settings", {"role_resolution": True})
    changes = project.changes()
    assert [a["path"] for a in changes[f"crawler.{CRAWLER}"]["attributes"]] == ["role"]
    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert resolves(glue.get_crawler(Name=CRAWLER)["Crawler"]["Role"]) == resolves(role_arn)


@pytest.fixture
def slept(aws: Any, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The propagation retries' sleeps; each one ends the injected fault (IAM "propagates" while we wait)."""
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        call_admin(aws.url, "faults", {})

    monkeypatch.setattr(glue_common, "propagation_sleep", sleep)
    return sleeps


def _fail(aws: Any, operation: str, message: str) -> None:
    """Answer `operation` with InvalidInputException and `message` until the fault is switched off."""
    call_admin(aws.url, "faults", {"permanent": {"operation": operation, "code": "InvalidInputException",
                                                 "message": message}})  # fmt: skip


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        ("glue:CreateCrawler", UNABLE_TO_ASSUME),
        ("glue:CreateCrawler", "Please verify the role's TrustPolicy"),
        ("glue:CreateCrawler", "User: arn:aws:sts::123456789012:assumed-role/r/AWS-Crawler is not authorized to"),
        ("glue:CreateCrawler", "Insufficient Lake Formation permission(s) on car_brands"),
        ("glue:CreateTrigger", "Service is unable to assume role arn:aws:iam::123456789012:role/x"),
    ],
)
def test_iam_propagation_errors_are_retried(
    project: Project, aws: Any, slept: list[float], operation: str, message: str
) -> None:
    """Glue's "not propagated yet" answers are retried (terraform-provider-aws crawler.go, trigger.go)."""
    _fail(aws, operation, message)
    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert slept  # retried (the two triggers are created in parallel: one sleep each at most)
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


def test_other_invalid_input_is_not_retried(project: Project, aws: Any, slept: list[float]) -> None:
    _fail(aws, "glue:CreateCrawler", "Invalid schedule expression")
    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 1
    assert "Invalid schedule expression" in result.output
    assert slept == []


def test_propagation_retries_are_bounded(aws: Any) -> None:
    """Two minutes of retries at most (terraform-provider-aws glue/consts.go propagationTimeout), then the error."""
    _fail(aws, "glue:CreateCrawler", UNABLE_TO_ASSUME)
    ctx = AwsContext(region=aws.region, endpoint_url=aws.url)
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    def create() -> Any:
        return ctx.call("glue", "create_crawler", Name="c", Role="r", DatabaseName="d", Targets={"S3Targets": []})

    with pytest.raises(AwsApiError, match="unable to assume"):
        glue_common.retry_iam_propagation(
            create, glue_common.CRAWLER_PROPAGATION_MESSAGES, sleep=sleep, clock=lambda: now[0]
        )
    assert 100 <= now[0] <= glue_common.IAM_PROPAGATION_TIMEOUT
    assert ctx.counter.calls["glue:CreateCrawler"] == 1 + 14  # 1, 2, 4, 8, then every 10 s up to 120 s


class TransitionalTriggers(AwsContext):
    """The real endpoint, except that a trigger's first `reads` reads answer `state` (the endpoint's
    triggers settle at once; AWS's pass through CREATING / ACTIVATING / ...)."""

    def __init__(self, *args: Any, state: str, reads: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.state, self.left = state, reads

    def _call(self, service: str, operation: str, kwargs: dict[str, Any], *, retry: bool = True) -> Any:
        answer = super()._call(service, operation, kwargs, retry=retry)
        if operation in {"get_trigger", "batch_get_triggers"} and self.left > 0:
            self.left -= 1
            for item in [answer["Trigger"]] if "Trigger" in answer else answer.get("Triggers", []):
                item["State"] = self.state
        return answer


@pytest.mark.parametrize("state", ["CREATING", "DEACTIVATING", "UPDATING"])
def test_a_plan_during_a_trigger_transition_shows_no_diff(
    project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch, state: str
) -> None:
    """The plan waits for the transition to end instead of diffing a half-made trigger."""
    assert project.cli("apply", "--auto-approve").exit_code == 0
    slept: list[float] = []
    monkeypatch.setattr(trigger, "settle_sleep", slept.append)
    ctx = TransitionalTriggers(region=aws.region, endpoint_url=aws.url, state=state, reads=3)
    plan = build_plan(load_spec(project.spec), ctx)
    assert not plan.has_changes, [(c.address, c.attrs) for c in plan.changes if c.action != "no-op"]
    assert slept  # it did wait


def test_trigger_writes_wait_for_the_transition_and_send_no_reserved_name(
    project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """UpdateTrigger's TriggerUpdate.Name is "Reserved for future use" (botocore glue model): not
    sent; create, update and delete wait for the trigger to settle (waitTriggerCreated / Deleted)."""
    assert project.cli("apply", "--auto-approve").exit_code == 0
    after_crawl = "car-brands-quarterly-after-crawl"
    glue = aws.client("glue")
    definition = glue.get_trigger(Name=after_crawl)["Trigger"]
    glue.update_trigger(Name=after_crawl, TriggerUpdate={
        "Description": "changed behind our back", "Actions": definition["Actions"],
        "Predicate": definition["Predicate"]})  # fmt: skip
    slept: list[float] = []
    monkeypatch.setattr(trigger, "settle_sleep", slept.append)
    ctx = TransitionalTriggers(region=aws.region, endpoint_url=aws.url, state="UPDATING", reads=0)
    sent: list[dict[str, Any]] = []
    ctx.client("glue").meta.events.register(
        "provide-client-params.glue.UpdateTrigger", lambda params, **_: sent.append(params)
    )
    pipeline = load_spec(project.spec)
    plan = build_plan(pipeline, ctx)
    ctx.left = 2  # the update meets its trigger in transition, before and after
    raise_for_result(execute(plan, ctx, pipeline))
    assert len(sent) == 1 and "Name" not in sent[0]["TriggerUpdate"]
    assert sent[0]["TriggerUpdate"]["Description"] == definition["Description"]
    assert slept
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


def test_apply_passes_with_role_resolution_and_iam_propagation_delay(project: Project, aws: Any) -> None:
    """Role references and IAM propagation on the strict endpoint: the Role must resolve to the role with its
    path (a bare name fails CreateCrawler as on AWS), and a role made seconds ago cannot be assumed yet (retried,
    bounded)."""
    call_admin(aws.url, "settings", {"role_resolution": True, "iam_propagation_seconds": 2})
    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


@pytest.mark.parametrize("semantics", ["and", "or"])
def test_ownership_is_correct_under_and_and_or_tag_filters(project: Project, aws: Any, semantics: str) -> None:
    """Glue does not document how several List* Tags combine; the endpoint models both. Resources
    with only one of our two ownership tags are never deleted, neither by apply nor by destroy."""
    call_admin(aws.url, "settings", {"tag_filter": semantics})
    glue = aws.client("glue")
    role = glue_role(aws.client("iam"), "theirs")
    target = {"S3Targets": [{"Path": "s3://elsewhere/"}]}
    glue.create_crawler(Name="theirs-managed", Role=role, DatabaseName="d", Targets=target,
                        Tags={OWNER_TAG: "another-pipeline", MANAGED_TAG: "true"})  # fmt: skip
    glue.create_crawler(Name="theirs-unmanaged", Role=role, DatabaseName="d", Targets=target,
                        Tags={OWNER_TAG: "car-brands", MANAGED_TAG: "false"})  # fmt: skip
    assert project.cli("apply", "--auto-approve").exit_code == 0
    project.edit("  crawlers:\n", "  crawlers:\n    - {name: extra, targets: [s3://car-brands-test/raw/]}\n")
    assert project.cli("apply", "--auto-approve").exit_code == 0
    project.edit("    - {name: extra, targets: [s3://car-brands-test/raw/]}\n", "")
    changes = project.changes()
    assert {a: c["action"] for a, c in changes.items()} == {"crawler.extra": "delete"}
    assert project.cli("destroy", "--auto-approve", "--force").exit_code == 0
    assert {c["Name"] for c in glue.get_crawlers()["Crawlers"]} == {"theirs-managed", "theirs-unmanaged"}
