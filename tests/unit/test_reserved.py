"""The tool's own keys are stated once (spec/reserved.py) and the code that writes them reads them
from there, so validation refuses exactly the keys the tool writes; code-loading job arguments are flagged
for the plan's security section by their field's `security_key`."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.helpers import make_spec_project

from reconciler.aws import lock
from reconciler.engine.diff import CREATE, UPDATE, Change
from reconciler.engine.security import ENTRY, created_entries, security_effect
from reconciler.quarterly.publish import Layout
from reconciler.resources import fields_of
from reconciler.resources.base import AttrChange, Desired
from reconciler.resources.bucket_settings import internal_keys
from reconciler.resources.fields import is_security_at
from reconciler.resources.upload import index_key
from reconciler.spec import reserved
from reconciler.spec.load import load_spec


def test_every_key_the_tool_writes_is_reserved(tmp_path: Path) -> None:
    pipeline = load_spec(make_spec_project(tmp_path), {})
    layout = Layout.of(pipeline)
    assert pipeline.quicksight.manifest is not None
    keys = reserved.reserved_keys([layout.base_key], pipeline.quicksight.manifest.key)
    written = [
        lock.LOCK_KEY,
        lock.SERIAL_KEY,
        index_key("upload.raw/car_brands/"),
        layout.pointer_key,
        layout.run_key("20261128T045900Z-1a2b3c", "_gate.json"),
        pipeline.quicksight.manifest.key,
    ]
    for key in written:
        assert any(r.covers(key) for r in keys), key
    # The bucket's lifecycle rules cover the keys the tool rewrites (not the job's run prefixes).
    assert internal_keys(pipeline) == [".reconciler/", "prepared/_published.json", "quicksight/manifest.json"]


def test_overlap_rules() -> None:
    internal, pointer, runs, manifest = reserved.reserved_keys(["prepared/"], "quicksight/manifest.json")
    assert internal.overlaps_prefix("") and internal.overlaps_prefix(".reconciler/uploads/")
    assert not internal.overlaps_prefix("raw/")
    assert pointer.covers("prepared/_published.json") and not pointer.covers("prepared/_published.json.bak")
    assert runs.covers("prepared/runs/x/_gate.json") and not runs.tool_writes
    assert manifest.overlaps_prefix("quicksight/") and not manifest.overlaps_prefix("quicksight/other/")


def _job_change(action: str, attrs: list[AttrChange], arguments: dict[str, str]) -> Change:
    desired = Desired("job", "j", {"default_arguments": arguments}, {})
    return Change("job", "j", action, 3, attrs, desired=desired)


def test_code_loading_arguments_are_security_relevant_and_others_are_not() -> None:
    table = fields_of("job")
    assert is_security_at(table, ("default_arguments", "--extra-py-files"), None, "s3://b/x.py")
    assert not is_security_at(table, ("default_arguments", "--enable-metrics"), "true", "false")
    assert is_security_at(table, ("default_arguments",), {}, {"--extra-jars": "s3://b/a.jar"})
    assert not is_security_at(table, ("default_arguments",), {"--extra-jars": "s3://b/a.jar"},
                              {"--extra-jars": "s3://b/a.jar", "--x": "1"})  # fmt: skip
    update = _job_change(UPDATE, [AttrChange(("default_arguments", "--extra-py-files"), None, "s3://b/x.py")], {})
    effect = security_effect(update, update.attrs[0])
    assert effect is not None and effect.label == ENTRY
    other = _job_change(UPDATE, [AttrChange(("default_arguments", "--enable-metrics"), "true", "false")], {})
    assert security_effect(other, other.attrs[0]) is None
    create = _job_change(CREATE, [], {"--scriptLocation": "s3://b/s.py", "--input_path": "s3://b/raw/"})
    assert created_entries(create) == ["default_arguments.--scriptLocation"]


_SEGMENT = st.sampled_from(["prepared", "runs", "raw", ".reconciler", "lock.json", "_published.json", "a", "qs"])
_KEY = st.lists(_SEGMENT, min_size=0, max_size=4).map("/".join)


@settings(max_examples=200, deadline=None, database=None)
@given(outputs=st.lists(_KEY.map(lambda k: k + "/" if k else "prepared/"), max_size=5), manifest=_KEY,
       probe=_KEY, slash=st.booleans())  # fmt: skip
def test_the_index_answers_as_the_rules_do(outputs: list[str], manifest: str, probe: str, slash: bool) -> None:
    """ReservedIndex (bisect over sorted keys) is only a faster way to ask Reserved.covers / overlaps_prefix."""
    entries = reserved.reserved_keys(outputs, manifest or None)
    index = reserved.ReservedIndex(entries)
    key = probe + "/" if slash and probe else probe
    assert set(index.covering(key)) == {r for r in entries if r.covers(key)}
    assert set(index.overlapping(key)) == {r for r in entries if r.overlaps_prefix(key)}
