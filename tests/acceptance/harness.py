"""Acceptance tests generated from the field tables (FIELDS in src/reconciler/resources/*.py), in the style of
terraform-provider-aws: for every attribute of every kind,

    apply -> plan clean -> change it in the spec -> the plan shows exactly that change -> apply -> plan clean
    -> change it behind the tool's back with plain boto3 -> the plan shows drift on it -> apply -> plan clean,

then delete the resource behind the tool's back -> the plan shows create -> apply -> destroy -> gone.

One test (and one first apply) per kind; each attribute is a step of it, named in every assertion message. An
attribute is changed in the spec when its field has a spec key and a sample (the sample is the new spec
value); it is changed behind our back to its previous value, or to the sample when the spec cannot change it.
Live state is changed and checked with plain boto3, never through our own readers.

The steps plan and apply the kind alone (build_plan's `kinds`), so a step reads only what it changes; the
first apply and the end of the steps are checked with full plans of every kind (a step that changed another
kind, e.g. a job argument widening the role's policy, fails there). The tests are in
several modules (test_*.py) only so that `--dist loadfile` spreads them over the workers.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from reconciler.aws.context import AwsContext
from reconciler.engine.apply import raise_for_result
from reconciler.engine.diff import CREATE, NOOP, REPLACE, UPDATE, Change
from reconciler.engine.locked import ApplyOptions, locked_apply, locked_destroy
from reconciler.engine.plan import Plan, build_plan
from reconciler.resources import KINDS, fields_of
from reconciler.resources.fields import ABSENT, Field, set_path
from reconciler.spec.load import load_spec
from tests.helpers import glue_role

from .conftest import BUCKET, Project

APPLY = ApplyOptions(auto_approve=True, force=True)
START, AFTER = "car-brands-quarterly-start", "car-brands-quarterly-after-crawl"

def resolved(value: Any) -> Any:
    """A sample as the live value: ${PIPELINE_BUCKET} is what the spec interpolates."""
    if isinstance(value, str):
        return value.replace("${PIPELINE_BUCKET}", BUCKET)
    if isinstance(value, dict):
        return {k: resolved(v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolved(v) for v in value]
    return value


_CONTEXTS: dict[tuple[str, str], AwsContext] = {}


@dataclass
class Harness:
    project: Project
    aws: Any
    #: the kind the steps plan alone; None: every kind
    kind: str | None = None

    def __post_init__(self) -> None:
        # One context (boto3 clients, loaded service models) per endpoint for all the tests of a worker.
        key = (self.aws.region, self.aws.url)
        self.ctx = _CONTEXTS.get(key) or _CONTEXTS.setdefault(key, AwsContext(region=key[0], endpoint_url=key[1]))
        self.last: Plan | None = None

    def changes(self, *, full: bool = False) -> dict[str, Change]:
        """The plan's changes by address (no-ops left out); the plan is kept for apply() and desired()."""
        kinds = None if full or self.kind is None else [k() for k in KINDS if k.kind == self.kind]
        self.last = build_plan(load_spec(self.project.spec), self.ctx, observe_serial=True, kinds=kinds)
        return {c.address: c for c in self.last.changes if c.action != NOOP}

    def desired(self, address: str) -> dict[str, Any]:
        """Desired attributes of `address` as the last plan saw them."""
        assert self.last is not None
        change = next(c for c in self.last.changes if c.address == address)
        assert change.desired is not None
        return change.desired.attrs

    def apply(self, step: str, *, full: bool = False) -> None:
        """Apply the plan last shown (made again if none was), then check that a new plan is clean."""
        if self.last is None or full:
            self.changes(full=full)
        assert self.last is not None
        _, result = locked_apply(load_spec(self.project.spec), self.ctx, self.last, APPLY)
        raise_for_result(result)
        clean = self.changes(full=full)
        assert clean == {}, f"{step}: plan after apply is not clean: {describe(clean)}"

    def destroy(self) -> None:
        pipeline = load_spec(self.project.spec)
        plan = build_plan(pipeline, self.ctx, destroy=True, force=True)
        raise_for_result(locked_destroy(pipeline, self.ctx, plan, APPLY))

    def set_spec(self, path: tuple[str | int, ...], value: Any) -> None:
        document = yaml.safe_load(self.project.spec.read_text())
        target = document
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
        self.project.spec.write_text(yaml.safe_dump(document, sort_keys=False))


def describe(changes: dict[str, Change]) -> dict[str, list[str]]:
    return {address: [f"{a.path}: {a.before!r} -> {a.after!r}" for a in c.attrs] for address, c in changes.items()}


def assert_changes_only(
    changes: dict[str, Change], target: str, addresses: frozenset[str], tops: set[str], step: str
) -> None:
    assert target in changes, f"{step}: the plan does not show {target}: {describe(changes)}"
    for address, change in changes.items():
        assert address in addresses, f"{step}: unexpected change of {address}: {describe(changes)}"
        assert change.action in {UPDATE, REPLACE}, f"{step}: {address} {change.action}"
        assert {a.top for a in change.attrs} <= tops, f"{step}: more than {sorted(tops)}: {describe(changes)}"


# --- behind the tool's back, with plain boto3 ------------------------------------------------------------------


def _with(item: dict[str, Any], f: Field, value: Any) -> dict[str, Any]:
    """A Get* answer with one field set, as its API writes it (the field table's path and write converter)."""
    changed = copy.deepcopy(item)
    if f.optional and value in (None, "", [], {}):  # as our partial update clears it (the field's clear value)
        if f.clear is None:
            changed.pop(f.api.split(".")[0], None)
        else:
            set_path(changed, f.api, f.clear)
    else:
        set_path(changed, f.api, f.write(value))
    return changed


def _tops(kind: str, *, updatable_only: bool = False) -> set[str]:
    return {
        f.api.split(".")[0] for f in fields_of(kind) if f.api and f.writable and not (updatable_only and f.immutable)
    }


def _crawler_drift(aws: Any, name: str, f: Field, value: Any) -> None:
    glue = aws.client("glue")
    top = f.api.split(".")[0]
    if f.name == "role":  # the endpoint resolves roles as AWS does: someone else's role must exist
        glue_role(aws.client("iam"), str(value).rsplit("/", 1)[-1])
    # UpdateCrawler is partial
    glue.update_crawler(Name=name, **{top: _with(glue.get_crawler(Name=name)["Crawler"], f, value)[top]})


def _job_drift(aws: Any, name: str, f: Field, value: Any) -> None:
    glue = aws.client("glue")  # UpdateJob replaces the definition: send all of it
    item = _with(glue.get_job(JobName=name)["Job"], f, value)
    glue.update_job(JobName=name, JobUpdate={k: item[k] for k in _tops("job") | {"Role"} if k in item})


def _trigger_drift(aws: Any, name: str, f: Field, value: Any) -> None:
    glue = aws.client("glue")
    if f.name == "enabled":
        glue.start_trigger(Name=name) if value else glue.stop_trigger(Name=name)
        return
    # UpdateTrigger replaces Description, Schedule, Actions and Predicate
    item = _with(glue.get_trigger(Name=name)["Trigger"], f, value)
    glue.update_trigger(Name=name, TriggerUpdate={k: item[k] for k in _tops("trigger", updatable_only=True)
                                                  if k in item})  # fmt: skip


def _workflow_drift(aws: Any, name: str, f: Field, value: Any) -> None:
    glue = aws.client("glue")
    top = f.api.split(".")[0]
    glue.update_workflow(Name=name, **{top: _with(glue.get_workflow(Name=name)["Workflow"], f, value)[top]})


def _database_drift(aws: Any, name: str, f: Field, value: Any) -> None:
    glue = aws.client("glue")
    top = f.api.split(".")[0]
    item = _with(glue.get_database(Name=name)["Database"], f, value)
    glue.update_database(Name=name, DatabaseInput={"Name": name, top: item[top]})


def _bucket_encryption(s3: Any, name: str, value: Any) -> None:
    rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": value["algorithm"]}}
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [rule]})


#: (kind, field) -> how to change it behind our back (value None: remove it) for the irregular kinds
IRREGULAR_DRIFT: dict[tuple[str, str], Callable[[Any, str, Any], None]] = {
    ("bucket", "versioning"): lambda aws, name, value: aws.client("s3").put_bucket_versioning(
        Bucket=name, VersioningConfiguration={"Status": "Enabled" if value else "Suspended"}
    ),
    ("bucket", "encryption"): lambda aws, name, value: _bucket_encryption(aws.client("s3"), name, value),
    ("bucket", "public_access_block"): lambda aws, name, value: aws.client("s3").put_public_access_block(
        Bucket=name, PublicAccessBlockConfiguration=value
    ),
    ("bucket", "object_ownership"): lambda aws, name, value: aws.client("s3").put_bucket_ownership_controls(
        Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": value}]}
    ),
    ("bucket", "policy"): lambda aws, name, value: aws.client("s3").delete_bucket_policy(Bucket=name),
    ("bucket", "lifecycle"): lambda aws, name, value: aws.client("s3").delete_bucket_lifecycle(Bucket=name),
    ("role", "description"): lambda aws, name, value: aws.client("iam").update_role(RoleName=name, Description=value),
    ("role", "trust_policy"): lambda aws, name, value: aws.client("iam").update_assume_role_policy(
        RoleName=name, PolicyDocument=json.dumps(value)
    ),
    ("role", "access_policy"): lambda aws, name, value: aws.client("iam").delete_role_policy(
        RoleName=name, PolicyName="pipeline-access"
    ),
    ("topic", "display_name"): lambda aws, name, value: aws.client("sns").set_topic_attributes(
        TopicArn=_topic_arn(aws, name), AttributeName="DisplayName", AttributeValue=value
    ),
    ("event_rule", "state"): lambda aws, name, value: (
        aws.client("events").disable_rule(Name=name)
        if value == "DISABLED"
        else aws.client("events").enable_rule(Name=name)
    ),
    ("event_rule", "targets"): lambda aws, name, value: aws.client("events").remove_targets(
        Rule=name, Ids=["notify-topic"]
    ),
}
#: fields with no sample that are still changed behind our back: removed (the drift functions above)
REMOVED = {("bucket", "policy"), ("bucket", "lifecycle"), ("role", "access_policy"), ("event_rule", "targets")}


def irregular(kind: str) -> Callable[[Any, str, Field, Any], None]:
    """The drift of a kind whose fields each change with their own call (IRREGULAR_DRIFT)."""

    def drift(aws: Any, name: str, f: Field, value: Any) -> None:
        IRREGULAR_DRIFT[(kind, f.name)](aws, name, value)

    return drift


def _topic_arn(aws: Any, name: str) -> str:
    account = aws.client("sts").get_caller_identity()["Account"]
    return f"arn:aws:sns:{aws.region}:{account}:{name}"


def _delete_rule(aws: Any, name: str) -> None:
    aws.client("events").remove_targets(Rule=name, Ids=["notify-topic"])  # DeleteRule refuses a rule with targets
    aws.client("events").delete_rule(Name=name)


def _delete_bucket(aws: Any, name: str) -> None:
    s3 = aws.client("s3")
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        entries = page.get("Versions", []) + page.get("DeleteMarkers", [])
        if entries:
            objects = [{"Key": e["Key"], "VersionId": e["VersionId"]} for e in entries]
            s3.delete_objects(Bucket=name, Delete={"Objects": objects})
    s3.delete_bucket(Bucket=name)


def _delete_role(aws: Any, name: str) -> None:
    iam = aws.client("iam")
    iam.delete_role_policy(RoleName=name, PolicyName="pipeline-access")
    iam.delete_role(RoleName=name)


def _set_in_aws(h: Harness) -> None:
    h.set_spec(("spec", "schedule", "in_aws"), True)


def _declare_topic(h: Harness) -> None:
    h.set_spec(("spec", "notify"), {"sns_topic": {"managed": {"name": "car-brands-alerts"}}})


def _declare_rule(h: Harness) -> None:  # derived: a topic, in_aws, and run_failed among the (default) events
    _set_in_aws(h)
    _declare_topic(h)


@dataclass(frozen=True)
class Driver:
    """What the acceptance sequence needs of one kind, done with plain boto3 (never our own readers)."""

    #: the resource the steps change, every address of the kind, and the spec section of its declaration
    name: str
    addresses: frozenset[str]
    section: tuple[str | int, ...]
    #: change field `f` of resource `name` to `value` behind our back (value None: remove it)
    drift: Callable[[Any, str, Field, Any], None]
    delete: Callable[[Any, str], Any]
    #: reads the resource; raises the service's not-found error when it is gone
    read: Callable[[Any, str], Any]
    #: spec changes before the first apply, for a kind the example does not declare as it is
    prepare: Callable[[Harness], None] | None = None
    #: field -> the resource it is changed on behind our back, when not `name`
    where: tuple[tuple[str, str], ...] = ()


#: kind -> its driver. Every kind in KINDS is here or in ELSEWHERE (tests/unit/test_kinds.py checks it).
DRIVERS: dict[str, Driver] = {
    "bucket": Driver(BUCKET, frozenset({f"bucket.{BUCKET}"}), ("spec", "bucket"), irregular("bucket"),
                     _delete_bucket, lambda aws, name: aws.client("s3").head_bucket(Bucket=name)),
    "role": Driver("car-brands-glue", frozenset({"role.car-brands-glue"}), ("spec", "role"), irregular("role"),
                   _delete_role, lambda aws, name: aws.client("iam").get_role(RoleName=name)),
    "database": Driver("car_brands", frozenset({"database.car_brands"}), ("spec", "database"), _database_drift,
                       lambda aws, name: aws.client("glue").delete_database(Name=name),
                       lambda aws, name: aws.client("glue").get_database(Name=name)),
    "crawler": Driver("car-brands-raw", frozenset({"crawler.car-brands-raw"}), ("spec", "crawlers", 0),
                      _crawler_drift, lambda aws, name: aws.client("glue").delete_crawler(Name=name),
                      lambda aws, name: aws.client("glue").get_crawler(Name=name)),
    "job": Driver("car-brands-prepare", frozenset({"job.car-brands-prepare"}), ("spec", "jobs", 0), _job_drift,
                  lambda aws, name: aws.client("glue").delete_job(JobName=name),
                  lambda aws, name: aws.client("glue").get_job(JobName=name)),
    "workflow": Driver("car-brands-quarterly", frozenset({"workflow.car-brands-quarterly"}), ("spec", "schedule"),
                       _workflow_drift, lambda aws, name: aws.client("glue").delete_workflow(Name=name),
                       lambda aws, name: aws.client("glue").get_workflow(Name=name)),
    # a cron and an active state exist on the SCHEDULED start trigger only (in_aws); a predicate on the
    # after-crawl trigger only
    "trigger": Driver(START, frozenset({f"trigger.{START}", f"trigger.{AFTER}"}), ("spec", "schedule"),
                      _trigger_drift, lambda aws, name: aws.client("glue").delete_trigger(Name=name),
                      lambda aws, name: aws.client("glue").get_trigger(Name=name), _set_in_aws,
                      (("predicate", AFTER),)),
    # declared by its prepare (the example's notify section is commented out)
    "topic": Driver("car-brands-alerts", frozenset({"topic.car-brands-alerts"}),
                    ("spec", "notify", "sns_topic", "managed"), irregular("topic"),
                    lambda aws, name: aws.client("sns").delete_topic(TopicArn=_topic_arn(aws, name)),
                    lambda aws, name: aws.client("sns").get_topic_attributes(TopicArn=_topic_arn(aws, name)),
                    _declare_topic),
    # derived from the topic and spec.schedule.in_aws (set by its prepare)
    "event_rule": Driver("car-brands-glue-job-failed", frozenset({"event_rule.car-brands-glue-job-failed"}),
                         ("spec", "notify"), irregular("event_rule"), _delete_rule,
                         lambda aws, name: aws.client("events").describe_rule(Name=name), _declare_rule),
}  # fmt: skip
#: the kinds the field-driven sequence does not cover, and where they are tested instead
ELSEWHERE = {
    "upload": "uploads() below: the content of the local files is the spec side",
    "quicksight_data_source": "tests/integration/test_quicksight_kinds.py",
    "quicksight_data_set": "tests/integration/test_quicksight_kinds.py",
    "security_configuration": "tests/integration/test_security_configuration.py: no attribute changes in place",
}


def exists(aws: Any, kind: str, name: str) -> bool:
    try:
        DRIVERS[kind].read(aws, name)
    except Exception as exc:  # botocore's ClientError of each service: a 404 / NotFound / NoSuchEntity
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        assert code in {
            "404", "NoSuchBucket", "NoSuchEntity", "EntityNotFoundException", "NotFound", "ResourceNotFoundException",
        }, exc  # fmt: skip
        return False
    return True


# --- the steps ------------------------------------------------------------------------------------------------


def _get(attrs: dict[str, Any], keys: tuple[str, ...]) -> Any:
    value: Any = attrs
    for key in keys:
        value = value[key]
    return value


def every_attribute_of(kind: str, project: Project, aws: Any) -> None:
    """The whole acceptance sequence for every attribute of `kind` that has a sample (or can be removed)."""
    driver = DRIVERS[kind]
    name, addresses, section = driver.name, driver.addresses, driver.section
    target = f"{kind}.{name}"
    h = Harness(project, aws)
    if driver.prepare is not None:
        driver.prepare(h)
    h.apply("first apply", full=True)
    h.kind = kind
    steps = 0
    for f in fields_of(kind):
        if f.sample is ABSENT and (kind, f.name) not in REMOVED:
            assert f.note or f.immutable, f"{kind}.{f.name} has no sample: its note must say why"
            continue
        where = dict(driver.where).get(f.name, name)
        where_address = f"{kind}.{where}"
        tops = {f.top} | {k.split(".")[0] for k in (f.sample_needs or {})}
        previous = h.desired(where_address)
        if f.spec and f.sample is not ABSENT:
            step = f"{kind}.{f.name}: spec change to {f.sample!r}"
            for key, value in {**(f.sample_needs or {}), f.spec: f.sample}.items():
                h.set_spec((*section, *key.split(".")), value)
            assert_changes_only(h.changes(), where_address, addresses, tops, step)
            h.apply(step)
            behind = _get(previous, f.keys)  # back to what it was, behind our back
        else:
            behind = None if (kind, f.name) in REMOVED else resolved(f.sample)
        step = f"{kind}.{f.name}: changed behind our back to {behind!r}"
        driver.drift(aws, where, f, behind)
        assert_changes_only(h.changes(), where_address, addresses, {f.top}, step)
        h.apply(step)
        steps += 1
    assert steps > 0
    assert h.changes(full=True) == {}, f"{kind}: the full plan after every step is not clean"
    driver.delete(aws, name)
    after_delete = h.changes()
    assert after_delete[target].action == CREATE, describe(after_delete)
    h.apply(f"{kind}: recreated")
    h.destroy()
    assert not exists(aws, kind, name)


def uploads(project: Project, aws: Any) -> None:
    """Uploads have no field that maps to one API field: the content of the local file is the spec side."""
    key, address = "scripts/car_brands_job.py", "upload.scripts/car_brands_job.py"
    h, s3 = Harness(project, aws, "upload"), aws.client("s3")
    h.apply("first apply", full=True)
    script = project.root / "glue_scripts" / "car_brands_job.py"
    script.write_text(script.read_text() + "\n# changed\n")
    assert_changes_only(h.changes(), address, frozenset({address}), {"objects"}, "upload: local file changed")
    h.apply("upload: local file changed")
    body = b"print('someone else')\n"
    s3.put_object(Bucket=BUCKET, Key=key, Body=body, Metadata={"sha256": hashlib.sha256(body).hexdigest()})
    assert_changes_only(h.changes(), address, frozenset({address}), {"objects"}, "upload: object overwritten")
    h.apply("upload: object overwritten")
    # An upload lives inside its bucket: an object deleted behind our back is planned as an update of it.
    s3.delete_object(Bucket=BUCKET, Key=key)
    assert_changes_only(h.changes(), address, frozenset({address}), {"objects"}, "upload: object deleted")
    h.apply("upload: object deleted")
    assert h.changes(full=True) == {}
    h.destroy()
    assert not exists(aws, "bucket", BUCKET)
