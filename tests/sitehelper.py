"""Real distributions on sys.path for tests: the ``Site`` helper."""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest


class Site:
    """A directory on ``sys.path`` that holds modules and ``.dist-info`` folders.

    ``add_dist`` writes a real distribution: ``METADATA`` and
    ``entry_points.txt`` in ``NAME-VERSION.dist-info``, so importlib.metadata
    (and so nova_hookspec's discovery) finds it exactly as it finds a
    pip-installed one.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.modules: set[str] = {"hooklog"}
        self.add_module("hooklog", "EVENTS = []\nINSTANCES = []\n")

    def add_module(self, name: str, source: str) -> None:
        path = self.root.joinpath(*name.split(".")).with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
        self.modules.add(name.split(".", maxsplit=1)[0])
        importlib.invalidate_caches()

    def add_dist(
        self,
        name: str,
        entry_points: dict[str, list[str]],
        modules: dict[str, str] | None = None,
        version: str = "1.0",
    ) -> None:
        for module, source in (modules or {}).items():
            self.add_module(module, source)
        info = self.root / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        )
        lines = []
        for group, items in entry_points.items():
            lines.append(f"[{group}]")
            lines.extend(items)
            lines.append("")
        (info / "entry_points.txt").write_text("\n".join(lines))
        importlib.invalidate_caches()

    @property
    def events(self) -> list[object]:
        return importlib.import_module("hooklog").EVENTS  # type: ignore[no-any-return]


def site_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """A fresh :class:`Site` on ``sys.path``; its modules are forgotten afterwards."""
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    s = Site(root)
    yield s
    for name in list(sys.modules):
        if name.split(".")[0] in s.modules:
            del sys.modules[name]
