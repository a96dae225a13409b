"""The support table in the docs and the nox matrix must agree."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = (ROOT / "docs" / "support.md").read_text()


def nox_list(name: str) -> list[tuple[object, ...]]:
    """A literal list assigned at the top of noxfile.py (read, not imported: no nox here)."""
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return [tuple(row) for row in ast.literal_eval(node.value)]
    raise AssertionError(f"noxfile.py has no {name}")


def table(heading: str) -> list[list[str]]:
    """The rows of the first Markdown table after ``heading``."""
    lines = PAGE.split(heading, 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return [[c.strip() for c in row.strip("|").split("|")] for row in lines[start + 2:end]]


def pin(series: str, package: str) -> str:
    text = (ROOT / "constraints" / f"upper-constraints-{series}.txt").read_text()
    versions = re.findall(rf"^{package}===([^;\s]+)(?:;python_version(?:==|>=)'3\.(?:8|1\d)')?$",
                          text, flags=re.MULTILINE | re.IGNORECASE)
    return versions[-1]


def test_nova_table_is_the_nox_matrix() -> None:
    rows = table("## Nova releases")
    documented = [(r[0], None if r[1] == "none yet" else r[1], r[2]) for r in rows]
    assert documented == nox_list("NOVA_MATRIX")
    for nova, series, _python in nox_list("NOVA_MATRIX"):
        assert f'nox -s "nova({nova}-{series or "unconstrained"})"' in PAGE


def test_nova_table_pins_are_the_constraints_files() -> None:
    for row in table("## Nova releases"):
        if row[1] == "none yet":
            continue
        assert row[3] == pin(row[1], "pluggy"), row
        assert row[4] == pin(row[1], "importlib[-_]metadata"), row


def test_test_suite_table_is_the_nox_matrix() -> None:
    rows = table("## The test suite")
    documented = [(python, "latest" if pluggy == "newest" else pluggy, session)
                  for python, pluggy, _, session in rows]
    expected = [(py, pluggy, "`tests`") for py, pluggy, _ in nox_list("TEST_MATRIX")]
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    wheel = next(ast.literal_eval(node.value) for node in tree.body
                 if isinstance(node, ast.Assign)
                 and getattr(node.targets[0], "id", None) == "WHEEL_PLUGGY")
    assert sorted(documented) == sorted([*expected, ("3.11", wheel, "`tests-wheel`")])
