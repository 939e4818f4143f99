"""Every repository path the docs name exists, so a moved or deleted file cannot leave a reader at a dead end.

What is read: `README.md`, every `docs/*.md`, the READMEs of `Data/` and `src/reconciler_local/`, and the
docstrings (module, class, function) and comments of every `.py` file under `src/`.

What counts as a path: a word of that text (split at whitespace, with surrounding quotes, backticks,
brackets and trailing punctuation removed) that starts with the name of a top-level entry of the repository
followed by `/` (`src/...`, `docs/...`, `tests/...`), or is exactly a top-level file's name (`pyproject.toml`).
Fenced `yaml` and `json` blocks are skipped: the paths in a spec example are keys in the bucket
(`script: scripts/job.py`), not files of the repository. A pytest node id (`::test_x`), a line number
(`:12`) and an anchor (`#section`) after a path are cut off. A word with a placeholder in it (`<run_id>`,
`{name}`, `*`, `$VAR`, `...`, `YYYY`) or under `GENERATED` (made at run time, not in a checkout) names no
fixed path and is skipped. A path ending in `/` must be a directory.

Docstrings and comments under `src/` also name modules by file name (`load.py`, `adopt/importer.py`): such a
word, ending in `.py`, must be a file of the repository (one without `/` anywhere in it; one with `/` under the
module's own directory, its package or `src/`), unless it is a third-party module (`botocore/config.py`) or
in `FOREIGN_MODULE_FILES`.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Made by running the tool or its scripts, so absent from a fresh checkout: the generated raw data set, the
#: local copy of the rendered QuickSight manifest.
GENERATED = ("Data/car_brands", "quicksight/manifest.json")

#: `.py` names in docstrings and comments that are no file of this repository, and what they are.
FOREIGN_MODULE_FILES = {"urls.py": "moto's route table", "script.py": "a job script's name when its key has none"}

_PLACEHOLDER = re.compile(r"[<>{}*$]|\.\.\.|YYYY|\bN\b|NAME|QN|Qn")
_STRIP = "`'\"()[],;.:!?*"


def markdown_files(root: Path = ROOT) -> list[Path]:
    docs = sorted((root / "docs").glob("*.md"))
    return [root / "README.md", root / "Data" / "README.md", root / "src" / "reconciler_local" / "README.md", *docs]


_DATA_BLOCK = re.compile(r"^```(?:yaml|json)\n.*?^```$", flags=re.MULTILINE | re.DOTALL)


def markdown_text(text: str) -> str:
    """A markdown file's text without its fenced `yaml` and `json` blocks."""
    return _DATA_BLOCK.sub("", text)


def python_text(source: str) -> Iterator[str]:
    """The docstrings and comments of one Python source."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                yield doc
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield token.string


def named_paths(text: str, top_level: frozenset[str]) -> set[str]:
    """The repository paths `text` names, by the rule in this module's docstring."""
    found = set()
    for raw in text.split():
        word = raw.strip(_STRIP)
        word = re.split(r"::|#|:\d", word, maxsplit=1)[0].rstrip(_STRIP.replace("*", ""))
        head = word.split("/", 1)[0]
        if head not in top_level or ("/" not in word and not (ROOT / word).is_file()):
            continue
        if _PLACEHOLDER.search(word) or word.startswith(GENERATED):
            continue
        found.add(word + ("/" if raw.strip("`'\"(),;.:").endswith("/") and not word.endswith("/") else ""))
    return found


def module_files(text: str, top_level: frozenset[str]) -> set[str]:
    """The words of `text` that name a Python module by its file name (not a repository path)."""
    words = {re.split(r"::|:\d", raw.strip(_STRIP), maxsplit=1)[0] for raw in text.split()}
    return {w for w in words if re.fullmatch(r"[\w./-]+\.py", w) and w.split("/", 1)[0] not in top_level}


@functools.cache
def _module_names(root: Path) -> frozenset[str]:
    tops = ("src", "tests", "scripts", "benchmarks", "glue_scripts")
    return frozenset(p.name for top in tops for p in (root / top).rglob("*.py"))


def dead_module_files(words: set[str], module: Path, root: Path = ROOT) -> set[str]:
    """The module file names that are neither a file near `module` nor a known foreign or third-party one."""
    names = _module_names(root)
    package_root = root / "src" / module.relative_to(root / "src").parts[0]
    dead = set()
    for word in words - set(FOREIGN_MODULE_FILES):
        if "/" not in word:
            ok = word in names
        else:
            first = word.split("/", 1)[0]
            third_party = (
                first not in {"reconciler", "reconciler_local"} and importlib.util.find_spec(first) is not None
            )
            ok = third_party or any((base / word).is_file() for base in (module.parent, package_root, root / "src"))
        if not ok:
            dead.add(word)
    return dead


def missing(paths: set[str], root: Path = ROOT) -> set[str]:
    """The paths that do not exist; one ending in `/` must be a directory."""
    return {p for p in paths if not ((root / p).is_dir() if p.endswith("/") else (root / p).exists())}


def _top_level(root: Path = ROOT) -> frozenset[str]:
    return frozenset(p.name for p in root.iterdir() if not p.name.startswith(".") or p.name in {".ci", ".github"})


def test_every_path_named_in_the_docs_and_docstrings_exists() -> None:
    top = _top_level()
    dead: list[str] = []
    for md in markdown_files():
        dead += [
            f"{md.relative_to(ROOT)}: {p}"
            for p in sorted(missing(named_paths(markdown_text(md.read_text("utf-8")), top)))
        ]
    for py in sorted((ROOT / "src").rglob("*.py")):
        for text in python_text(py.read_text("utf-8")):
            dead += [f"{py.relative_to(ROOT)}: {p}" for p in sorted(missing(named_paths(text, top)))]
            dead += [f"{py.relative_to(ROOT)}: {p}" for p in sorted(dead_module_files(module_files(text, top), py))]
    assert not dead, "paths named in the docs that do not exist:\n" + "\n".join(sorted(set(dead)))


def test_a_wrong_path_is_found_and_placeholders_are_not_paths() -> None:
    top = _top_level()
    text = (
        "See `docs/cli.md`, `src/reconciler/errors.py:16`, `tests/unit/test_docs_paths.py::test_x` and\n"
        "schema/pipeline.v1.json#/properties. Gone: `src/reconciler/spec.py` and src/reconciler_local/runtime/.\n"
        "Not paths: `runs/<run_id>/`, `Data/car_brands/ingest_quarter=YYYY-QN/`, docs/*.md, https://docs/x.md,\n"
        "`spec.py`, `adopt/importer.py`, a/b."
    )
    paths = named_paths(text, top)
    assert paths == {
        "docs/cli.md",
        "src/reconciler/errors.py",
        "tests/unit/test_docs_paths.py",
        "schema/pipeline.v1.json",
        "src/reconciler/spec.py",
        "src/reconciler_local/runtime/",
    }
    assert missing(paths) == {"src/reconciler/spec.py", "src/reconciler_local/runtime/"}
    # A file named with a trailing slash is not the directory it claims to be.
    assert missing({"pyproject.toml/"}) == {"pyproject.toml/"}


def test_a_module_named_by_file_name_must_exist_near_it() -> None:
    module = ROOT / "src" / "reconciler" / "adopt" / "__init__.py"
    words = module_files(
        "From spec.py, adopt/importer.py, `importer.py`, botocore/config.py, urls.py; docs/x.py.", _top_level()
    )
    assert words == {"spec.py", "adopt/importer.py", "importer.py", "botocore/config.py", "urls.py"}
    assert dead_module_files(words, module) == {"spec.py"}
    assert dead_module_files({"runtime/models.py", "glue/models.py"}, ROOT / "src" / "reconciler_local" / "x.py") == {
        "runtime/models.py"
    }


def test_spec_examples_in_yaml_blocks_are_not_read() -> None:
    text = (
        "Run `bash scripts/nowhere.sh`:\n\n```yaml\nscript: scripts/job.py\n```\n\n```bash\nbash scripts/gone.sh\n```\n"
    )
    assert named_paths(markdown_text(text), _top_level()) == {"scripts/nowhere.sh", "scripts/gone.sh"}


def test_docstrings_and_comments_are_read_but_code_is_not() -> None:
    source = (
        '"""Module: `docs/nowhere.md`."""\n'
        "X = 'docs/in-code.md'  # comment: docs/in-comment.md\n"
        "def f() -> None:\n"
        '    """Function: docs/in-function.md."""\n'
    )
    texts = list(python_text(source))
    paths = set().union(*(named_paths(t, _top_level()) for t in texts))
    assert paths == {"docs/nowhere.md", "docs/in-comment.md", "docs/in-function.md"}


#: The repository's own text: what a reader of a checkout reads.
TEXT_ROOTS = ("README.md", "Makefile", "Dockerfile", "docs", "src", "tests", "scripts", "benchmarks", "glue_scripts",
              "Data/README.md", ".github", ".ci")  # fmt: skip
_ISSUE_NUMBER = re.compile(r"\b(?:[Ii]ssues?|[Dd]efects?) #?[0-9]+")


def issue_numbers(text: str) -> list[str]:
    """The 'issue N' / 'defect N' references in `text`: a tracker a reader of the repository cannot look up
    (an external project's issue is cited by its URL or `owner/repo#N` instead)."""
    return _ISSUE_NUMBER.findall(text)


def test_no_text_refers_to_an_issue_number_instead_of_the_behaviour() -> None:
    found = []
    for top in TEXT_ROOTS:
        base = ROOT / top
        files = [base] if base.is_file() else [p for p in base.rglob("*") if p.is_file()]
        for path in files:
            if path.suffix not in {".py", ".md", ".sh", ".yml", ".yaml", ".toml", ".txt", ""}:
                continue
            try:
                text = path.read_text("utf-8")
            except UnicodeDecodeError:
                continue
            found += [f"{path.relative_to(ROOT)}: {m}" for m in issue_numbers(text)]
    assert not found, "state the behaviour instead of the issue number:\n" + "\n".join(found)


def test_an_issue_number_is_found_and_an_external_citation_is_not() -> None:
    issue, defect = "issue", "defect"  # kept apart, so that this file does not trip its own check
    text = f"retried ({issue} 13 {defect} 7); see I{issue[1:]} 16, and {defect} 3; aws/aws-sdk-js/{issue}s/4212"
    assert issue_numbers(text) == [f"{issue} 13", f"{defect} 7", f"I{issue[1:]} 16", f"{defect} 3"]
