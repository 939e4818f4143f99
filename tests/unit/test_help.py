"""Top-level help: main commands first, summaries whole, examples, no internal file paths."""

from __future__ import annotations

import re

from click.testing import CliRunner

from reconciler.cli.boundary import MAIN_COMMANDS
from reconciler.cli.main import cli


def test_top_level_help_lists_main_commands_first_whole_with_examples() -> None:
    result = CliRunner().invoke(cli, ["--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    text = result.output
    commands = text.split("Commands:\n", 1)[1]
    listed = re.findall(r"^  (\S+)\s", commands, flags=re.MULTILINE)
    assert listed[: len(MAIN_COMMANDS)] == list(MAIN_COMMANDS), listed
    assert "..." not in commands  # click cuts a summary at ~45 characters with "..."
    assert "Examples:" in text and "reconcile --local run" in text
    assert not re.search(r"\b(docs|src|engine)/|\.py\b", text), text
    for name in listed:  # nor in any command's own help
        own = CliRunner().invoke(cli, [name, "--help"]).output
        assert not re.search(r"\b(docs|src|engine)/\S+|\.py\b", own), (name, own)
