"""The CLI reference's exit codes (docs/cli.md) are the code's: `run`'s documented exit codes once omitted the gate."""

from __future__ import annotations

import re
from pathlib import Path

from reconciler.errors import EXIT_CODES, EXIT_GATE, EXIT_LOCKED

CLI_DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def _section(title: str) -> str:
    text = CLI_DOC.read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_the_exit_code_table_is_errors_exit_codes() -> None:
    rows = re.findall(r"^\| (\d+) \| (.+?) \|$", _section("Exit codes"), flags=re.MULTILINE)
    assert {int(code): meaning for code, meaning in rows} == EXIT_CODES


def test_runs_row_in_the_cli_table_names_the_gate_and_the_lock() -> None:
    text = CLI_DOC.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| `run "))
    codes = row.rsplit("|", 2)[-2]
    assert f"{EXIT_GATE} gate failed" in codes and f"{EXIT_LOCKED} locked" in codes


def test_the_readmes_short_list_names_every_exit_code() -> None:
    readme = (CLI_DOC.parents[1] / "README.md").read_text(encoding="utf-8")
    bullet = readme[readme.index("- **Errors are one line**") :].split("\n- ", 1)[0].split("\n\n", 1)[0]
    listed = bullet[bullet.index("exit code (") :]
    assert {int(code) for code in re.findall(r"\b(\d+)\s+[a-z]", listed)} == set(EXIT_CODES)
