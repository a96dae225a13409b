"""The four hook-point targets of every Nova release from 21 to 34, read from
each release's own wheel (no install): the module and the callable exist, and
every parameter maps onto the typed spec (after the known renames).

Run by ``nox -s nova-targets``, which downloads the wheels
(``NOVA_TARGETS_WHEELS`` names the folder). The releases are the latest patch
release of each major version when this list was last updated.
"""

from __future__ import annotations

import ast
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest

from nova_hookspec._call.binding import ArgumentPlan
from nova_hookspec._spec import points as _points

RELEASES = ["21.2.4", "22.4.0", "23.2.2", "24.2.1", "25.3.0", "26.3.0", "27.5.1", "28.3.1",
            "29.4.0", "30.3.0", "31.3.1", "32.2.1", "33.0.2", "34.0.0"]
WHEELS = Path(os.environ.get("NOVA_TARGETS_WHEELS", "nova-wheels"))


def wheel(release: str) -> Path:
    found = sorted(WHEELS.glob(f"nova-{release}-*.whl"))
    assert found, f"no wheel of nova {release} in {WHEELS} (nox -s nova-targets fetches them)"
    return found[0]


def find(tree: ast.Module, qualname: str) -> ast.FunctionDef | ast.AsyncFunctionDef:
    """The function ``Class.method`` or ``function`` defined at the top of ``tree``."""
    body: list[ast.stmt] = tree.body
    *owners, name = qualname.split(".")
    for owner in owners:
        [cls] = [n for n in body if isinstance(n, ast.ClassDef) and n.name == owner]
        body = cls.body
    matches = [n for n in body
               if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name]
    assert matches, f"{qualname} is not defined"
    return matches[-1]


def stand_in(node: ast.FunctionDef | ast.AsyncFunctionDef) -> Any:
    """A function with the same parameters (defaults replaced by None)."""
    args = node.args
    stub = ast.FunctionDef(
        name=node.name,
        args=ast.arguments(
            posonlyargs=list(args.posonlyargs), args=list(args.args), vararg=args.vararg,
            kwonlyargs=list(args.kwonlyargs),
            kw_defaults=[ast.Constant(None) if d is not None else None
                         for d in args.kw_defaults],
            kwarg=args.kwarg, defaults=[ast.Constant(None) for _ in args.defaults]),
        body=[ast.Pass()], decorator_list=[], returns=None, type_comment=None)
    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
        if arg is not None:
            arg.annotation = None
    module = ast.fix_missing_locations(ast.Module(body=[stub], type_ignores=[]))
    namespace: dict[str, Any] = {}
    exec(compile(module, "<stand-in>", "exec"), namespace)
    return namespace[node.name]


def hook_decorators(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """The names given to ``hooks.add_hook(...)`` decorators of ``node``."""
    names = []
    for deco in node.decorator_list:
        if (isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute)
                and deco.func.attr == "add_hook" and deco.args
                and isinstance(deco.args[0], ast.Constant)):
            names.append(str(deco.args[0].value))
    return names


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("point", _points.TYPED_POINTS, ids=lambda p: p.name)
def test_target_of_every_release(release: str, point: _points.HookPoint) -> None:
    assert point.nova_target is not None
    module, _, qualname = point.nova_target.partition(":")
    path = module.replace(".", "/") + ".py"
    with zipfile.ZipFile(wheel(release)) as archive:
        assert path in archive.namelist(), f"nova {release} has no {path}"
        tree = ast.parse(archive.read(path))
    node = find(tree, qualname)
    function = stand_in(node)
    plan = ArgumentPlan(point, function)
    params = [a.arg for a in [*node.args.posonlyargs, *node.args.args]]
    unmapped = [name for name, spec in zip(params, plan.positional) if spec is None]
    assert unmapped == [], f"nova {release} {point.name}: no spec argument for {unmapped}"
    assert plan.positional[0] == point.hooked_object
    # Nova <= 21 decorated these very callables with its own add_hook.
    expected = [point.aliases[0] if point.aliases else point.name] if release.startswith(
        "21.") else []
    assert hook_decorators(node) == expected
