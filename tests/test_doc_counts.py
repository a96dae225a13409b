"""Docs that must not contradict each other or the build (issue 30 item 6): how
many Nova releases ``nox -s nova`` tests, which nox sessions the README's
development section names, which pages the docs check finds.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS = {"five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11,
         "twelve": 12}


def _noxfile() -> ast.Module:
    return ast.parse((ROOT / "noxfile.py").read_text())


def _nova_releases() -> int:
    for node in _noxfile().body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "NOVA_MATRIX" for t in node.targets):
            assert isinstance(node.value, ast.List)
            return len(node.value.elts)
    raise AssertionError("noxfile.py has no NOVA_MATRIX")


def _sessions() -> set[str]:
    names = set()
    for node in _noxfile().body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            target = call.func if call else decorator
            if not (isinstance(target, ast.Attribute) and target.attr == "session"
                    and isinstance(target.value, ast.Name) and target.value.id == "nox"):
                continue  # ast.unparse is 3.9+
            named = [k.value for k in (call.keywords if call else []) if k.arg == "name"]
            names.add(ast.literal_eval(named[0]) if named else node.name)
    return names


def test_every_page_says_the_same_number_of_nova_releases() -> None:
    expected = _nova_releases()
    said = {
        "README.md": re.findall(r"(\w+) real Nova releases", (ROOT / "README.md").read_text()),
        ".ci/run": re.findall(r"(\w+) real Nova releases", (ROOT / ".ci/run").read_text()),
        "docs/testing.md": re.findall(r"the (\w+) Nova environments",
                                      (ROOT / "docs/testing.md").read_text()),
    }
    for where, words in said.items():
        assert words, f"{where} no longer says how many Nova releases"
        assert {WORDS.get(w, -1) for w in words} == {expected}, (where, words, expected)


def test_the_readme_development_section_names_every_nox_session() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Development"):]
    named = {name for line in re.findall(r"^nox -s (.+?)(?:\s+#|$)", section, re.M)
             for name in line.split()}
    assert _sessions() == named, (_sessions() ^ named)


def test_the_docs_check_counts_the_pages_of_the_navigation() -> None:
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        import check_build
    finally:
        sys.path.remove(str(ROOT / "docs"))
    pages = {p.stem for p in (ROOT / "docs").iterdir()
             if p.suffix in (".md", ".rst") and p.stem != "index"}
    assert set(check_build.navigation()) == pages
    assert len(check_build.navigation()) == len(pages)
