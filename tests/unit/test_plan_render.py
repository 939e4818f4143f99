"""The human-readable plan: legend, policies statement by statement, uploads
object by object, every security change labelled widens or tightens. Pure: plans built by hand, no server."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from reconciler.cli.plan_render import legend, plan_lines, policy_lines, upload_lines
from reconciler.engine.diff import CONFLICT, CREATE, DELETE, REPLACE, UPDATE, Change
from reconciler.engine.plan import Plan
from reconciler.engine.security import BOTH, NEITHER, TIGHTENS, WIDENS, security_effect
from reconciler.resources.base import AttrChange, Desired

BUCKET_ARN = "arn:aws:s3:::car-brands-test"
LONG_PREFIX = "arn:aws:s3:::car-brands-test/prepared/aggregated/csv/with/a/very/long/prefix/that/goes/on/and/on"


def statement(sid: str, actions: list[str], resources: list[str], effect: str = "Allow") -> dict[str, Any]:
    return {"Sid": sid, "Effect": effect, "Action": actions, "Resource": resources}


def role_policy_plan(before: list[Any], after: list[Any]) -> Plan:
    change = Change(
        "role", "car-brands-glue", UPDATE, 1, [AttrChange(("access_policy", "Statement"), before, after)]
    )  # a policy's statements change as one list: the diff compares lists whole
    return Plan("p", [change], "f", "s")


def text_of(plan: Plan) -> str:
    return "\n".join(line.text for line in plan_lines(plan))


def test_the_legend_names_the_symbols_the_plan_uses_in_terraforms_order() -> None:
    changes = [Change("job", "j", DELETE, 3), Change("bucket", "b", CREATE, 0), Change("crawler", "c", REPLACE, 3)]
    assert legend(changes) == "Symbols: + create, -/+ replace (delete, then create), - delete"
    assert legend([Change("job", "j", UPDATE, 3), Change("crawler", "c", CONFLICT, 3)]) == (
        "Symbols: ~ update in place, ! conflict (not ours: apply refuses)"
    )
    plan = Plan("p", [Change("job", "j", UPDATE, 3, [AttrChange(("description",), "a", "b")])], "f", "s")
    assert plan_lines(plan)[0].text == "Symbols: ~ update in place"
    assert "Symbols" not in text_of(Plan("p", [], "f", "s"))


def test_an_added_s3_star_statement_is_visible_even_behind_long_identical_prefixes() -> None:
    """The old renderer cut both values at 160 characters: two identical prefixes, the change hidden."""
    kept = [statement(f"Read{i}", ["s3:GetObject"], [f"{LONG_PREFIX}/{i}/*"]) for i in range(6)]
    added = statement("Everything", ["s3:*"], ["*"])
    text = text_of(role_policy_plan(kept, [*kept, added]))
    assert "…" not in text
    assert "statements: 1 added, 6 unchanged" in text
    assert '+ statement "Everything" (Allow)' in text
    assert "actions       s3:*" in text and "resources     *" in text
    security = text.split("Security-relevant changes", 1)[1]
    assert "! role.car-brands-glue access_policy.Statement: widens" in security
    assert "widens: allows s3:* on *" in security


def test_a_changed_statement_lists_each_action_and_resource_added_and_removed() -> None:
    before = [statement("WriteJobOutputs", ["s3:PutObject"], [f"{BUCKET_ARN}/prepared/*"])]
    after = [statement("WriteJobOutputs", ["s3:DeleteObject", "s3:PutObject"], [f"{BUCKET_ARN}/prepared_v2/*"])]
    lines = [line.text for line in policy_lines(before, after)]
    assert lines == [
        "statements: 1 changed",
        '~ statement "WriteJobOutputs" (Allow)',
        "    + action s3:DeleteObject",
        f"    - resource {BUCKET_ARN}/prepared/*",
        f"    + resource {BUCKET_ARN}/prepared_v2/*",
    ]


def test_statements_without_sids_pair_by_effect_and_actions_and_removed_ones_show_whole() -> None:
    before = [
        {"Effect": "Allow", "Action": ["glue:GetTable"], "Resource": ["a"]},
        {"Effect": "Deny", "Action": ["s3:*"], "Resource": ["*"], "Condition": {"Bool": {"x": "false"}}},
    ]
    after = [{"Effect": "Allow", "Action": ["glue:GetTable"], "Resource": ["a", "b"]}]  # fmt: skip
    lines = [line.text for line in policy_lines(before, after)]
    assert lines[0] == "statements: 1 removed, 1 changed"
    assert "- statement (Deny)" in lines and '    condition     {"Bool": {"x": "false"}}' in lines
    assert "~ statement (Allow)" in lines and "    + resource b" in lines


def test_a_created_role_shows_its_policies_statement_by_statement() -> None:
    glue = {"Service": ["glue.amazonaws.com"]}
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole"], "Principal": glue}],
    }
    desired = Desired("role", "r", {"path": "/", "description": "", "trust_policy": trust, "access_policy": None})
    text = text_of(Plan("p", [Change("role", "r", CREATE, 1, desired=desired)], "f", "s"))
    assert "+ trust_policy:" in text
    assert "principals    Service: glue.amazonaws.com" in text and "actions       sts:AssumeRole" in text
    assert "+ access_policy = (none)" in text


def test_uploads_render_one_line_per_object_with_sizes() -> None:
    objects = {"raw/new.csv": {"sha256": "1" * 64, "size": 2048}, "raw/changed.csv": {"sha256": "2" * 64, "size": 300}}
    attrs = [
        AttrChange(("objects", "raw/new.csv"), None, objects["raw/new.csv"]),
        AttrChange(("objects", "raw/changed.csv", "sha256"), "9" * 64, "2" * 64),
        AttrChange(("objects", "raw/changed.csv", "size"), 100, 300),
        AttrChange(("objects", "raw/same-size.csv", "sha256"), "8" * 64, "7" * 64),
        AttrChange(("objects", "raw/gone.csv"), {"sha256": "3" * 64, "size": 5}, None),
    ]
    objects["raw/same-size.csv"] = {"sha256": "7" * 64, "size": 10}
    change = Change(
        "upload", "raw/", UPDATE, 1, attrs, desired=Desired("upload", "raw/", {"bucket": "b", "objects": objects})
    )
    assert [line.text for line in upload_lines(change)] == [
        "~ raw/changed.csv (100 bytes -> 300 bytes)",
        "- raw/gone.csv",
        "+ raw/new.csv (2,048 bytes)",
        "~ raw/same-size.csv (10 bytes -> 10 bytes)",
    ]
    assert "(none) ->" not in text_of(Plan("p", [change], "f", "s"))


def _bucket_change(keys: tuple[str, ...], before: Any, after: Any) -> tuple[Change, AttrChange]:
    attr = AttrChange(keys, before, after)
    return Change("bucket", "b", UPDATE, 0, [attr]), attr


def test_every_security_change_is_labelled_widens_or_tightens() -> None:
    def label(keys: tuple[str, ...], before: Any, after: Any) -> str:
        effect = security_effect(*_bucket_change(keys, before, after))
        assert effect is not None
        return effect.label

    assert label(("public_access_block", "BlockPublicPolicy"), True, False) == WIDENS
    assert label(("public_access_block", "BlockPublicPolicy"), False, True) == TIGHTENS
    assert label(("object_ownership",), "BucketOwnerEnforced", "ObjectWriter") == WIDENS
    assert label(("object_ownership",), "ObjectWriter", "BucketOwnerEnforced") == TIGHTENS
    assert label(("encryption",), {"algorithm": "AES256"}, None) == WIDENS
    assert label(("encryption",), None, {"algorithm": "AES256"}) == TIGHTENS
    assert label(("encryption", "algorithm"), "AES256", "aws:kms") == NEITHER
    deny = statement("DenyInsecureTransport", ["s3:*"], ["*"], effect="Deny")
    assert label(("policy", "Statement"), [deny], []) == WIDENS
    assert label(("policy", "Statement"), [], [deny]) == TIGHTENS
    read, write = statement("R", ["s3:GetObject"], ["a"]), statement("W", ["s3:PutObject"], ["a"])
    assert label(("policy", "Statement"), [read], [write]) == BOTH
    assert security_effect(Change("job", "j", UPDATE, 3), AttrChange(("description",), "a", "b")) is None


def test_the_security_section_names_what_is_tightened() -> None:
    read, wide = statement("R", ["s3:GetObject"], ["a"]), statement("All", ["s3:*"], ["*"])
    text = text_of(role_policy_plan([read, wide], [read]))
    security = text.split("Security-relevant changes", 1)[1]
    assert "access_policy.Statement: tightens" in security and "tightens: no longer allows s3:* on *" in security
    assert "widens:" not in security


def test_a_policy_restored_where_there_was_none_says_what_it_grants_and_that_nobody_is_asked() -> None:
    policy = {"Version": "2012-10-17", "Statement": [statement("R", ["s3:GetObject"], ["a"])]}
    change = Change("role", "r", UPDATE, 1, [AttrChange(("access_policy",), None, policy)])
    effect = security_effect(change, change.attrs[0])
    assert effect is not None and effect.restores and effect.widens == ("allows s3:GetObject on a",)
    assert "a policy where there was none; not asked about" in text_of(Plan("p", [change], "f", "s"))


def test_no_value_is_ever_cut_short() -> None:
    long = "x" * 500
    plan = Plan("p", [Change("job", "j", UPDATE, 3, [AttrChange(("description",), long, long + "y")])], "f", "s")
    assert f'"{long}y"' in text_of(plan) and "…" not in text_of(plan)


def test_render_plan_prints_markup_free_text_with_brackets_intact() -> None:
    from reconciler.cli.render import render_plan

    attrs = [AttrChange(("default_arguments", "--input_path"), "[s3://a]", "[s3://b]")]
    console = Console(record=True, width=200, color_system=None)
    render_plan(console, Plan("p", [Change("job", "j", UPDATE, 3, attrs)], "f", "s"))
    assert '~ default_arguments.--input_path: "[s3://a]" -> "[s3://b]"' in console.export_text()
