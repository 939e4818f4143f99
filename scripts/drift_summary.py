"""Markdown summary of a drift run (LATEST=1 bash scripts/test.sh): which packages moved, which tests failed.

Usage: python scripts/drift_summary.py FREEZE JUNIT_XML [LOCK]
FREEZE is `uv pip freeze` of the newest-releases venv, JUNIT_XML pytest's --junitxml report, LOCK uv.lock.
Standard library only, so it runs whatever the drift run installed.
"""

from __future__ import annotations

import re
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_versions(lock: Path) -> dict[str, str]:
    data = tomllib.loads(lock.read_text())
    return {canonical(p["name"]): str(p.get("version", "")) for p in data.get("package", [])}


def frozen_versions(freeze: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in freeze.read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            found[canonical(name.split("[")[0])] = version.strip()
    return found


def failed_tests(junit: Path) -> list[tuple[str, str]]:
    failed = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        for problem in [*case.findall("failure"), *case.findall("error")]:
            message = (problem.get("message") or "").splitlines()[0][:160] if problem.get("message") else ""
            failed.append((f"{case.get('classname')}::{case.get('name')}", message))
    return failed


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__)
        return 64
    freeze, junit = Path(argv[1]), Path(argv[2])
    lock = Path(argv[3]) if len(argv) > 3 else Path("uv.lock")
    print("## Drift: the suite on the newest releases\n")
    if freeze.exists():
        locked, newest = locked_versions(lock), frozen_versions(freeze)
        moved = [(n, locked[n], v) for n, v in sorted(newest.items()) if n in locked and locked[n] != v]
        added = sorted(n for n in newest if n not in locked and n != "pipeline-reconciler")
        print(f"{len(moved)} package(s) newer than uv.lock:\n")
        print("| package | uv.lock | newest |\n|---|---|---|")
        for name, old, new in moved:
            print(f"| {name} | {old} | {new} |")
        if added:
            print(f"\nNot in uv.lock at all: {', '.join(added)}")
    else:
        print(f"No {freeze}: the install itself failed (see the log).")
    print()
    if not junit.exists():
        print("No test report: the run stopped before pytest (the install, ruff or mypy failed; see the log).")
        return 0
    failed = failed_tests(junit)
    print(f"{len(failed)} test(s) failed" + (":\n" if failed else "."))
    for test, message in failed[:100]:
        print(f"- `{test}`: {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
