"""The pure diff core: attribute-level changes and the decided action, no AWS involved."""

from __future__ import annotations

from reconciler.engine.diff import ADOPT, CONFLICT, CREATE, NOOP, REPLACE, UPDATE, decide, diff_values
from reconciler.resources.base import AttrChange, Desired, Observed
from reconciler.spec.model import MANAGED_TAG, OWNER_TAG

OURS = {OWNER_TAG: "car-brands", MANAGED_TAG: "true"}


def desired(**attrs: object) -> Desired:
    return Desired("crawler", "c1", dict(attrs), OURS)


def test_nested_dicts_diff_leaf_by_leaf() -> None:
    changes = diff_values({"a": {"b": 1, "c": 2}, "d": [1, 2]}, {"a": {"b": 1, "c": 3}, "d": [1, 2]})
    assert changes == [AttrChange(("a", "c"), 3, 2)]


def test_lists_compare_whole_and_missing_keys_show_none() -> None:
    changes = diff_values({"t": [1, 2], "new": "x"}, {"t": [2, 1], "old": "y"})
    assert AttrChange(("t",), [2, 1], [1, 2]) in changes
    assert AttrChange(("new",), None, "x") in changes
    assert AttrChange(("old",), "y", None) in changes


def test_paths_quote_keys_with_dots() -> None:
    change = AttrChange(("objects", "raw/part-0.csv", "sha256"), "a", "b")
    assert change.path == 'objects["raw/part-0.csv"].sha256'


def test_absent_resource_is_created() -> None:
    assert decide("crawler", 3, frozenset(), desired(x=1), None, "car-brands").action == CREATE


def test_identical_resource_is_noop() -> None:
    assert decide("crawler", 3, frozenset(), desired(x=1), Observed({"x": 1}, OURS), "car-brands").action == NOOP


def test_changed_attribute_is_update_with_before_and_after() -> None:
    change = decide("crawler", 3, frozenset(), desired(x=2), Observed({"x": 1}, OURS), "car-brands")
    assert change.action == UPDATE
    assert change.attrs == [AttrChange(("x",), 1, 2)]


def test_immutable_attribute_forces_replace_with_reason() -> None:
    change = decide("trigger", 5, frozenset({"type"}), desired(type="SCHEDULED"),
                    Observed({"type": "ON_DEMAND"}, OURS), "car-brands")  # fmt: skip
    assert change.action == REPLACE
    assert "type" in change.reason


def test_untagged_resource_is_a_conflict_not_an_update() -> None:
    change = decide("crawler", 3, frozenset(), desired(x=2), Observed({"x": 1}, {}), "car-brands")
    assert change.action == CONFLICT
    assert "--adopt crawler.c1" in change.reason


def test_resource_of_another_pipeline_is_a_conflict() -> None:
    other = {OWNER_TAG: "other", MANAGED_TAG: "true"}
    change = decide("crawler", 3, frozenset(), desired(x=1), Observed({"x": 1}, other), "car-brands")
    assert change.action == CONFLICT
    assert "'other'" in change.reason


def test_adopt_takes_over_and_tags() -> None:
    change = decide("crawler", 3, frozenset(), desired(x=1), Observed({"x": 1}, {}), "car-brands", adopt=True)
    assert change.action == ADOPT
    assert {c.path for c in change.attrs} == {f"tags.{OWNER_TAG}", f"tags.{MANAGED_TAG}"}


def test_foreign_tags_we_do_not_declare_are_left_alone() -> None:
    observed = Observed({"x": 1}, {**OURS, "team": "someone-else"})
    assert decide("crawler", 3, frozenset(), desired(x=1), observed, "car-brands").action == NOOP
