"""Run code right after a module is first imported, without importing it.

:func:`~nova_hookspec.attach_nova` may be called first thing in a process (a
``sitecustomize``, a wrapper script), before anything of Nova is imported.
Importing Nova's modules then, ahead of Nova's own start-up, would change
what Nova does: modules imported before its eventlet monkey patching keep
unpatched locks and sockets, and Nova's import order has effects of its own.
So when a target module is not imported yet, the hook point is attached the
moment Nova itself imports that module, through this finder at the front of
``sys.meta_path``: it finds the module's spec with the other finders and
wraps its loader so that, once the module's code has run, the callbacks run.
Nothing is imported that Nova would not import, and nothing happens on any
other import than a few dictionary look-ups.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import sys
import threading
from collections.abc import Sequence
from types import ModuleType
from typing import Any, Callable

log = logging.getLogger("nova_hookspec")

Callback = Callable[[ModuleType], None]

_lock = threading.RLock()
_waiting: dict[str, list[Callback]] = {}


class _Loader(importlib.abc.Loader):
    """The module's own loader, then the callbacks waiting for it."""

    def __init__(self, loader: Any, name: str) -> None:
        self._loader = loader
        self._name = name

    def __getattr__(self, attr: str) -> Any:  # get_source, is_package, resources ...
        return getattr(self._loader, attr)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        with _lock:
            callbacks = _waiting.pop(self._name, [])
            _uninstall_if_idle()
        for callback in callbacks:
            _run(callback, module)


class _Finder(importlib.abc.MetaPathFinder):
    """Wraps the loader of the modules someone waits for; finds nothing itself."""

    _busy = threading.local()

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _waiting or getattr(self._busy, "on", False):
            return None
        self._busy.on = True
        try:
            for finder in sys.meta_path:
                find = getattr(finder, "find_spec", None)
                if finder is self or find is None:
                    continue
                spec: importlib.machinery.ModuleSpec | None = find(fullname, path, target)
                if spec is not None:
                    break
            else:
                return None
        finally:
            self._busy.on = False
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _Loader(spec.loader, fullname)
        return spec


_finder = _Finder()


def _run(callback: Callback, module: ModuleType) -> None:
    try:
        callback(module)
    except Exception:
        log.exception("nova_hookspec: what was to run after importing %s failed",
                      module.__name__)


def _uninstall_if_idle() -> None:
    if not _waiting and _finder in sys.meta_path:
        sys.meta_path.remove(_finder)


def when_imported(name: str, callback: Callback) -> bool:
    """Call ``callback(module)`` once module ``name`` is imported.

    :returns: ``True`` if it ran now (the module was imported already),
        ``False`` if it waits for the import.
    """
    with _lock:
        module = sys.modules.get(name)
        if module is None:
            _waiting.setdefault(name, []).append(callback)
            if _finder not in sys.meta_path:
                sys.meta_path.insert(0, _finder)
            return False
    _run(callback, module)
    return True


def waiting() -> list[str]:
    """The modules some callback waits for."""
    with _lock:
        return sorted(_waiting)


def cancel() -> None:
    """Forget every waiting callback."""
    with _lock:
        _waiting.clear()
        _uninstall_if_idle()
