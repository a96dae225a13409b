"""tests/README.md says what each test folder covers and which nox session runs it:
checked against the checkout, so that a new folder or a renamed session cannot
leave it saying something untrue (issue 28, "What to build" 4)."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "tests" / "README.md"


def _rows() -> dict[str, str]:
    """``{folder: its "run by" cell}`` of the README's table."""
    rows = {}
    for line in README.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3:
            continue
        for folder in re.findall(r"`([\w*/-]+/)`", cells[0]):
            rows[folder] = cells[2]
    return rows


def _literal(name: str) -> Any:
    """The value of noxfile.py's top-level ``name = <literal>``."""
    for node in ast.parse((ROOT / "noxfile.py").read_text()).body:
        if (isinstance(node, (ast.Assign, ast.AnnAssign)) and
                any(isinstance(t, ast.Name) and t.id == name
                    for t in (node.targets if isinstance(node, ast.Assign) else [node.target]))):
            assert node.value is not None
            return ast.literal_eval(node.value)
    raise AssertionError(f"noxfile.py has no {name}")


def _sessions() -> set[str]:
    """The names of the sessions noxfile.py declares (``@nox.session``, its ``name=``)."""
    found = set()
    for node in ast.walk(ast.parse((ROOT / "noxfile.py").read_text())):
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            target = call.func if call is not None else decorator
            if not (isinstance(target, ast.Attribute) and target.attr == "session"
                    and isinstance(target.value, ast.Name) and target.value.id == "nox"):
                continue
            names = [k.value for k in (call.keywords if call else []) if k.arg == "name"]
            found.add(names[0].value if names and isinstance(names[0], ast.Constant)
                      else node.name)
    return found


def test_every_test_folder_has_a_row_naming_sessions_that_exist() -> None:
    rows = _rows()
    folders = {f"{path.name}/" for path in ROOT.iterdir()
               if path.is_dir() and path.name.startswith("tests")}
    assert folders <= set(rows), f"tests/README.md has no row for {folders - set(rows)}"
    sessions = _sessions()
    assert {"tests", "tests-wheel", "broker", "reconcile", "nova"} <= sessions, sessions
    for folder, run_by in rows.items():
        named = set(re.findall(r"`nox -s ([\w-]+)`", run_by))
        assert named or "README's command" in run_by, folder
        assert named <= sessions, f"{folder}: no session {named - sessions} in noxfile.py"


def test_the_sessions_ci_leaves_out_are_the_ones_the_readme_says() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    # Two streams (.ci/run's comment says why), each one nox command; a session may be
    # split between them by its parameters (``"nova-functional(21.2.4-ussuri)"``).
    lines = [x for x in ci.splitlines() if x.strip().startswith('"$work/nox/bin/nox" -s')]
    assert len(lines) == 2, lines
    streams = [set(line.split("-s", 1)[1].replace('"', "").split()) for line in lines]
    assert not streams[0] & streams[1], streams
    ran = {name.split("(", 1)[0] for name in streams[0] | streams[1]}
    split = {name for name in streams[0] | streams[1] if "(" in name}
    assert {name.split("(", 1)[0] for name in split} <= {"nova-functional"}, split
    if split:  # every Nova of its matrix, in one stream or the other
        assert split == {f"nova-functional({nova}-{series})"
                         for nova, series, _ in _literal("FUNCTIONAL_MATRIX")}, split
    said = README.read_text().split("but ", 1)[1].split("(", 1)[0]
    left_out = set(re.findall(r"`([\w-]+)`", said))
    assert ran | left_out == _sessions(), (ran, left_out)
    assert not ran & left_out
