"""Keep the test suite hermetic where plugins are installed next to it.

The README's first command installs the example plugins into ``.venv``, and
an operator may run the suite where their own plugins are installed. The
tests are written against the distributions each test creates, so the
suite hides every installed distribution that declares a ``nova_hookspec``
or ``nova.hooks`` entry point: ``importlib.metadata`` (and so discovery, the
CLI, the kit) does not see them. Hiding them is not the same as disabling
them through the operator controls, which the tests exercise themselves.

The conftest hides them in the test process and sets
``HOOKSPEC_TESTS_HIDDEN`` and ``PYTHONPATH`` so that every Python the
tests start hides them too (through ``sitecustomize``).
"""

from __future__ import annotations

import os
import sys
from typing import Any

ENV = "HOOKSPEC_TESTS_HIDDEN"
GROUPS = ("[nova_hookspec]", "[nova.hooks]")


def _metadata() -> Any:
    if sys.version_info >= (3, 10):
        from importlib import metadata
    else:
        import importlib_metadata as metadata
    return metadata


def _key(dist: Any) -> str | None:
    path = getattr(dist, "_path", None)
    return os.path.realpath(str(path)) if path is not None else None


def installed_plugin_paths() -> list[str]:
    """The metadata folders of the installed plugin distributions."""
    found = []
    for dist in _metadata().distributions():
        try:
            text = dist.read_text("entry_points.txt") or ""
        except Exception:  # noqa: BLE001 - unreadable: declares nothing
            continue
        key = _key(dist)
        if key and any(group in text for group in GROUPS):
            found.append(key)
    return sorted(set(found))


class _Hiding:
    """A ``sys.meta_path`` finder that hides some distributions of another."""

    def __init__(self, finder: Any, hidden: frozenset[str]) -> None:
        self._finder = finder
        self._hidden = hidden

    def __getattr__(self, name: str) -> Any:
        return getattr(self._finder, name)

    def find_distributions(self, *args: Any, **kwargs: Any) -> Any:
        for dist in self._finder.find_distributions(*args, **kwargs):
            if _key(dist) not in self._hidden:
                yield dist


def hide(paths: list[str]) -> None:
    """Hide the distributions whose metadata folders are ``paths``, in this process."""
    hidden = frozenset(paths)
    if not hidden:
        return
    _metadata()  # the importlib-metadata backport adds a finder of its own when imported
    sys.meta_path[:] = [
        _Hiding(finder, hidden)
        if hasattr(finder, "find_distributions") and not isinstance(finder, _Hiding)
        else finder
        for finder in sys.meta_path
    ]


def hide_from_environment() -> None:
    """Hide what ``HOOKSPEC_TESTS_HIDDEN`` lists (``os.pathsep``-separated)."""
    hide([p for p in os.environ.get(ENV, "").split(os.pathsep) if p])
