"""Attaching the four hook points to the importable Nova, and detaching them.

Nova >= 22 has no hooks: :func:`attach_nova` wraps the four callables in
place with :func:`~nova_hookspec.add_hook`. Nova <= 21 already wraps them
with its own ``nova.hooks.add_hook``: that layer is peeled off and replaced,
so every plugin (legacy classes included) runs once, through nova_hookspec.
On Nova <= 21 ``nova.hooks.add_hook`` and ``nova.hooks.HookManager`` are also
routed through :mod:`nova_hookspec.compat`, so hooks with other names (and
Nova's own ``FatalHookException``) keep working, ordered among the rest.

:func:`detach_nova` puts back the exact original objects.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from nova_hookspec import compat
from nova_hookspec._call import policy as _policy
from nova_hookspec._call.hooked import add_hook
from nova_hookspec._nova import import_hooks as _import_hooks
from nova_hookspec._spec import points as _points

log = logging.getLogger("nova_hookspec")

_HOOKS_MODULE = "nova.hooks"


class AttachError(RuntimeError):
    """``attach_nova(strict=True)`` could not attach every hook point."""


AttachError.__module__ = "nova_hookspec"


@dataclass(frozen=True)
class Attachment:
    """One Nova callable replaced by a hooked one.

    :param point: the hook point.
    :param target: ``module:qualname`` of the Nova callable.
    :param owner: the class or module holding it.
    :param attribute: its attribute name on ``owner``.
    :param original: the exact object that was there (restored on detach).
    :param hooked: what is there now.
    :param unwrapped_nova_hook: whether Nova's own ``add_hook`` layer was peeled off.
    """

    point: str
    target: str
    owner: Any
    attribute: str
    original: Any
    hooked: Any
    unwrapped_nova_hook: bool


_lock = threading.RLock()
_attached: dict[str, Attachment] = {}
#: Hook points waiting for Nova to import their module: point -> module.
_pending: dict[str, str] = {}
_saved_hooks_module: dict[str, Any] = {}
#: Nova's functions that got a ``__hook_name__`` from attaching: point -> function.
_named: dict[str, Any] = {}


def _resolve(target: str) -> tuple[Any, str]:
    module_name, _, qualname = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *path, attribute = qualname.split(".")
    for name in path:
        owner = getattr(owner, name)
    if attribute not in vars(owner):
        raise AttributeError(f"{target} has no attribute {attribute!r}")
    return owner, attribute


def _is_nova_hook_layer(function: Any) -> bool:
    """Whether ``function`` is the wrapper made by Nova <= 21's ``nova.hooks.add_hook``."""
    code = getattr(function, "__code__", None)
    return (
        hasattr(function, "__wrapped__")
        and hasattr(function, "__hook_name__")
        and code is not None
        and code.co_filename.replace("\\", "/").endswith("nova/hooks.py")
    )


def _route_nova_hooks_module() -> None:
    """On Nova <= 21, send ``nova.hooks``'s other users through :mod:`compat`."""
    try:
        hooks: ModuleType = importlib.import_module(_HOOKS_MODULE)
    except ImportError:
        return  # Nova >= 22: no such module
    if _saved_hooks_module:
        return
    for name in ("add_hook", "HookManager"):
        _saved_hooks_module[name] = getattr(hooks, name)
        setattr(hooks, name, getattr(compat, name))
    fatal = getattr(hooks, "FatalHookException", None)
    if isinstance(fatal, type) and issubclass(fatal, BaseException):
        _policy.add_fatal_type(fatal)
    reset = getattr(hooks, "reset", None)
    if callable(reset):
        reset()  # forget HookManagers Nova already built: new ones are compat's


def _restore_nova_hooks_module() -> None:
    if not _saved_hooks_module:
        return
    hooks = importlib.import_module(_HOOKS_MODULE)
    for name, value in _saved_hooks_module.items():
        setattr(hooks, name, value)
    _saved_hooks_module.clear()
    reset = getattr(hooks, "reset", None)
    if callable(reset):
        reset()


def attach_nova(strict: bool = False) -> dict[str, Attachment]:
    """Put the four hook points into the importable Nova.

    Whenever it is called, Nova works as it does without it. Called after
    Nova's modules are imported (the launcher, the WSGI entry), it attaches
    at once. Called before (first thing in a process: a ``sitecustomize``, a
    wrapper script), it imports nothing of Nova's: each hook point is
    attached the moment Nova itself imports the module that holds it
    (:mod:`nova_hookspec._nova.import_hooks`), so Nova's start-up (its monkey
    patching, its import order) is untouched; :func:`pending` names them.

    Idempotent: attaching again changes nothing. A target that cannot be
    imported or found (no Nova installed, a renamed method) is logged at
    WARNING and left out, or with ``strict=True`` raises :class:`AttachError`
    (a target found missing when Nova imports its module later is logged at
    ERROR: an import of Nova's is never failed).

    :returns: the attachments in force now, by hook point name.
    """
    problems: list[str] = []
    with _lock:
        nova_importable = _nova_importable()
        for point in _points.TYPED_POINTS:
            if point.name in _attached or point.name in _pending or point.nova_target is None:
                continue
            module_name = point.nova_target.partition(":")[0]
            if nova_importable and module_name not in sys.modules:
                _pending[point.name] = module_name
                _import_hooks.when_imported(module_name, _attach_later(point))
                log.info("nova_hookspec will attach hook point %r when Nova imports %s",
                         point.name, module_name)
                continue
            problem = _attach_point(point)
            if problem:
                problems.append(problem)
        if _attached:
            _route_nova_hooks_module()
    for problem in problems:
        log.warning("nova_hookspec: %s", problem)
    if strict and problems:
        raise AttachError("; ".join(problems))
    if _attached or _pending:
        _announce_when_logging_is_set_up()
    return dict(_attached)


def _nova_importable() -> bool:
    """Whether a ``nova`` package can be imported (nothing is imported to know)."""
    if "nova" in sys.modules:
        return True
    try:
        return importlib.util.find_spec("nova") is not None
    except (ImportError, ValueError):
        return False


def _attach_point(point: _points.HookPoint) -> str | None:
    """Attach one hook point now (its module is imported, or is imported here);
    return the problem if it cannot be."""
    assert point.nova_target is not None
    try:
        owner, attribute = _resolve(point.nova_target)
    except (ImportError, AttributeError) as exc:
        return f"{point.name}: cannot attach to {point.nova_target}: {exc}"
    original = vars(owner)[attribute]
    record = getattr(original, "__nova_hookspec__", None)
    if record is not None and getattr(record, "point", None) is point:
        # Decorated through nova.hooks routed to compat already (Nova <= 21 importing
        # a module after another was attached): hooked once, as it stands. What Nova
        # would hold without us never existed: detach makes it, with Nova's add_hook.
        hooked, inner = original, record.function
        original = _novas_own_decoration(getattr(original, "__hook_name__", point.name), record)
    else:
        inner = original.__wrapped__ if _is_nova_hook_layer(original) else original
        if not hasattr(inner, "__hook_name__"):
            _named[point.name] = inner  # add_hook names it, as Nova's did: detach unnames it
        hooked = add_hook(point.name)(inner)
        setattr(owner, attribute, hooked)
    _attached[point.name] = Attachment(
        point.name, point.nova_target, owner, attribute, original, hooked,
        inner is not original,
    )
    log.info("nova_hookspec attached hook point %r to %s", point.name, point.nova_target)
    return None


def _novas_own_decoration(name: str, record: Any) -> Any:
    """``record``'s function decorated by Nova <= 21's own ``add_hook``, as Nova
    would have decorated it had nova_hookspec not routed ``nova.hooks`` first."""
    novas_add_hook = _saved_hooks_module.get("add_hook")
    if novas_add_hook is None:  # not routed by us: nothing of Nova's to rebuild
        return record.function
    return novas_add_hook(name, pass_function=record.pass_function)(record.function)


def _attach_later(point: _points.HookPoint) -> Callable[[ModuleType], None]:
    def attach(_module: ModuleType) -> None:
        with _lock:
            if _pending.pop(point.name, None) is None:
                return  # detached meanwhile
            problem = _attach_point(point)
            if problem is None:
                _route_nova_hooks_module()
        if problem:
            log.error("nova_hookspec: %s", problem)

    return attach


def pending() -> dict[str, str]:
    """Hook points to be attached when Nova imports their module: point -> module."""
    return dict(_pending)


_oslo_setup: dict[str, Any] = {}


def announce() -> None:
    """Log the summary line (:func:`nova_hookspec._plugins.report.summary`) at INFO."""
    from nova_hookspec._plugins import process, report

    try:
        pm = process.get_plugin_manager()
        line = report.summary(pm, sorted(_attached))
        if _pending:
            line += (" | to be attached when Nova imports their module: "
                     + ", ".join(sorted(_pending)))
        log.info("%s", line)
    except Exception:  # the summary must never stop a service from starting
        log.warning("nova_hookspec: the summary of the hook points could not be made",
                    exc_info=True)


def _announce_when_logging_is_set_up() -> None:
    """Log the summary once the service's logging is set up.

    Attaching usually happens before a Nova service sets up oslo.log (the
    launcher attaches, then Nova's main parses its configuration and calls
    ``oslo_log.log.setup``): a line logged now would reach no log file. So
    when logging is not configured yet and oslo.log is importable, the
    summary is logged right after ``oslo_log.log.setup`` returns (which also
    means after the configuration files were parsed, so ``[nova_hookspec]``
    is read). Otherwise it is logged now.
    """
    if _oslo_setup or logging.getLogger().handlers:
        if not _oslo_setup:
            announce()
        return
    if "oslo_log.log" not in sys.modules:
        try:
            found = importlib.util.find_spec("oslo_log") is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            announce()
            return
        # Not imported yet: import nothing ahead of Nova's start-up; wait for it.
        _oslo_setup["waiting"] = True
        _import_hooks.when_imported("oslo_log.log", _announce_after_setup)
        return
    _announce_after_setup(sys.modules["oslo_log.log"])


def _announce_after_setup(oslo_log: ModuleType) -> None:
    """Log the summary right after ``oslo_log.log.setup`` returns."""
    _oslo_setup.pop("waiting", None)
    if "original" in _oslo_setup:
        return
    original = oslo_log.setup

    def setup(*args: Any, **kwargs: Any) -> Any:
        try:
            return original(*args, **kwargs)
        finally:
            _restore_oslo_setup()
            announce()

    _oslo_setup["original"] = original
    setattr(oslo_log, "setup", setup)  # noqa: B010 - a module attribute mypy cannot see


def _restore_oslo_setup() -> None:
    original = _oslo_setup.pop("original", None)
    if original is not None:
        from oslo_log import log as oslo_log

        oslo_log.setup = original


def detach_nova() -> dict[str, Attachment]:
    """Restore the exact original Nova callables; return what was detached.

    A callable that Nova <= 21 decorated while ``nova.hooks`` was routed to
    :mod:`~nova_hookspec.compat` (attached before Nova imported its module)
    gets Nova's own decoration, made then, with ``nova.hooks.add_hook``.
    """
    with _lock:
        detached = dict(_attached)
        for attachment in detached.values():
            setattr(attachment.owner, attachment.attribute, attachment.original)
        for function in _named.values():
            with contextlib.suppress(AttributeError, TypeError):
                delattr(function, "__hook_name__")
        _named.clear()
        _attached.clear()
        _pending.clear()
        _import_hooks.cancel()  # nothing waits for Nova's imports any more
        _oslo_setup.pop("waiting", None)
        _restore_nova_hooks_module()
        _restore_oslo_setup()
    return detached


def attached() -> dict[str, Attachment]:
    """The attachments in force."""
    return dict(_attached)
