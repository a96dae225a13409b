"""The documentation and the code must agree (in the manner of datasette's docs test)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import nova_hookspec
from nova_hookspec._spec import points as _points

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [*sorted(DOCS.glob("*.md")), ROOT / "README.md", DOCS / "hooks.rst"]
TYPED_HOOKS = sorted(h for p in _points.TYPED_POINTS for h in p.hook_names)


def test_hook_reference_documents_every_hook_once() -> None:
    reference = (DOCS / "hooks.rst").read_text()
    documented = re.findall(r"^\.\. autofunction:: nova_hookspec\.hookspecs\.(\w+)$",
                            reference, flags=re.MULTILINE)
    assert sorted(d for d in documented if d != "generic_specs") == sorted(
        [*TYPED_HOOKS, *_points.PLUGIN_HOOKS])


HOOKIMPL = re.compile(r"@hookimpl(\([^)]*\))?[ \t]*\n[ \t]*def (\w+)\(([^)]*)\)")


def hookimpl_examples() -> list[tuple[str, str, list[str]]]:
    found = []
    for page in PAGES:
        for marks, name, params in HOOKIMPL.findall(page.read_text()):
            names = [p.split(":")[0].split("=")[0].strip() for p in params.split(",")]
            # A deferred observer may also ask for its delivery (docs/deferred.md).
            asked = [n for n in names if n and n != "self"
                     and not (n == "delivery" and "deferred=True" in marks)]
            found.append((page.name, name, asked))
    return found


def test_docs_have_hookimpl_examples() -> None:
    pages = {page for page, _, _ in hookimpl_examples()}
    assert {"README.md", "quickstart.md", "migration.md", "call-model.md"} <= pages


@pytest.mark.parametrize(("page", "hook", "params"), hookimpl_examples())
def test_every_documented_hookimpl_fits_its_spec(page: str, hook: str, params: list[str]) -> None:
    if hook in _points.PLUGIN_HOOKS:  # a hook of no point (known_instances)
        assert set(params) <= set(_points.PLUGIN_HOOKS[hook]), f"{page}: {hook}{params}"
        return
    located = _points.hook_phase(hook)
    assert located is not None, f"{page}: {hook} is no hook"
    point, phase = located
    unknown = set(params) - set(point.hook_args(phase))
    assert not unknown, f"{page}: {hook} has no argument(s) {sorted(unknown)}"


def test_hookspec_docstring_examples_fit_their_specs() -> None:
    from nova_hookspec import hookspecs

    for hook in TYPED_HOOKS:
        doc = getattr(hookspecs, hook).__doc__ or ""
        [(_marks, name, params)] = HOOKIMPL.findall(re.sub(r"\n\s+", "\n", doc))
        assert name == hook
        point, phase = _points.hook_phase(hook)  # type: ignore[misc]
        names = {p.split("=")[0].strip() for p in params.split(",") if p.strip()}
        assert names <= set(point.hook_args(phase)), hook


def test_every_environment_variable_is_documented() -> None:
    code = "\n".join(p.read_text() for p in Path(nova_hookspec.__file__).resolve().parent.rglob("*.py"))
    variables = set(re.findall(r'"(NOVA_HOOKSPEC_[A-Z_]+)"', code))
    assert len(variables) >= 6
    page = (DOCS / "failure-semantics.md").read_text()
    assert {v for v in variables if v not in page} == set()


def test_readme_opens_with_the_two_commands() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    block = lines[lines.index("```sh") + 1: lines.index("```sh") + 3]
    assert block[0].endswith("nova-hookspec demo")
    assert block[1].endswith("python -m pytest")
    quickstart = (DOCS / "quickstart.md").read_text()
    assert all(command in quickstart for command in block)
