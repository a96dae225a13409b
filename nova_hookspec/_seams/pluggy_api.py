"""Every use of pluggy's internals, and every difference between its releases.

nova_hookspec supports pluggy 0.13.1 (OpenStack Ussuri's pin) to the newest
1.x. It uses pluggy's public API where one exists (markers for specs,
``add_hookspecs``, ``add_hookcall_monitoring``, ``HookCaller`` objects on
``pm.hook``) and owns the rest itself: its own hookimpl marker (0.13 has no
``specname``, pluggy < 1.1 no ``wrapper=True``), its own registration and
run order (:mod:`nova_hookspec._plugins.ordering`) and its own hook executor
(:mod:`nova_hookspec._call.executor`). What that needs of pluggy's inside is below,
and :data:`RELIED_ON` lists it; :func:`problems` checks the installed pluggy
against the list (``tests/test_pluggy_seam.py`` fails when one changes).

What differs between releases, and how it is bridged here:

* the hook executor: ``_inner_hookexec(hook, impls, kwargs)`` with the
  ``HookCaller`` on 0.13, ``(hook_name, impls, kwargs, firstresult)`` from
  1.0 on: :func:`install_executor` and :func:`run` speak both;
* a hook caller's implementations: ``_nonwrappers`` + ``_wrappers`` up to
  1.0, one ``_hookimpls`` list from 1.1: :func:`set_impls`;
* a plugin's hook callers: ``_plugin2hookcallers`` up to 1.0, worked out from
  the hook callers later: :func:`track`;
* where ``HookImpl``, ``HookCaller`` and the old-style wrappers' result
  object live, and the result's constructor (an ``exc_info`` triple before
  1.1, the exception after).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable
from typing import Any, Callable, Final, Mapping, Sequence

import pluggy

from nova_hookspec._spec.markers import IMPL_DEFAULTS


def _version(text: str) -> tuple[int, ...]:
    numbers = []
    for part in text.split(".")[:3]:
        digits = "".join(c for c in part if c.isdigit()) if part[:1].isdigit() else ""
        if not digits:
            break
        numbers.append(int(digits))
    return tuple(numbers)


def version() -> tuple[int, ...]:
    """The installed pluggy release, as a tuple of numbers (read when asked:
    pluggy >= 1.7 reads it from its metadata, which costs an import)."""
    return _version(str(pluggy.__version__))

#: Our executor: ``(hook_name, impls, caller_kwargs, firstresult) -> result``.
Executor = Callable[[str, Sequence[Any], Mapping[str, object], bool], object]

HookCallError: Final[type[Exception]] = pluggy.HookCallError
PluginValidationError: Final = pluggy.PluginValidationError

#: What this module relies on, by release (checked by :func:`problems`).
RELIED_ON: Final = (
    "PluginManager attributes: _name2plugin (name -> plugin, None when blocked), "
    "_inner_hookexec (the executor hook callers reach through _hookexec), hook (the relay)",
    "PluginManager._plugin2hookcallers (plugin -> hook callers) on pluggy < 1.1",
    "HookCaller(name, hook_execute), its name and spec, and get_hookimpls()",
    "HookCaller._hookimpls (one list, last runs first) on pluggy >= 1.1; "
    "_nonwrappers and _wrappers on earlier releases",
    "HookImpl(plugin, plugin_name, function, opts) with .function, .plugin, "
    ".plugin_name, .opts, .argnames, .kwargnames",
    "add_hookcall_monitoring(before, after) wraps _inner_hookexec",
    "the old-style wrappers' result: Result(result, exception) on >= 1.1, "
    "_Result(result, exc_info) before",
)



def _locate(*dotted: str) -> Any:
    """The first of ``module:attr`` names that exists."""
    for item in dotted:
        module_name, _, attr = item.partition(":")
        try:
            found = getattr(importlib.import_module(module_name), attr, None)
        except ImportError:
            continue
        if found is not None:
            return found
    raise ImportError(f"pluggy {pluggy.__version__} has none of {dotted}")


HookCaller: Final[Any] = _locate("pluggy:HookCaller", "pluggy._hooks:_HookCaller", "pluggy.hooks:_HookCaller")
HookImpl: Final[Any] = _locate("pluggy:HookImpl", "pluggy._hooks:HookImpl", "pluggy.hooks:HookImpl")
_ResultClass: Final[Any] = _locate("pluggy:Result", "pluggy._result:_Result", "pluggy.callers:_Result")

#: Up to pluggy 1.0 a hook caller keeps wrappers and the rest in two lists.
_SPLIT_LISTS: Final = not hasattr(HookCaller("probe", None), "_hookimpls")
#: pluggy 0.13's executor gets the hook caller, not its name and firstresult.
_EXEC_TAKES_HOOK: Final = len(inspect.signature(pluggy.PluginManager._hookexec).parameters) == 4
#: pluggy >= 1.1's result object takes the exception; earlier ones an exc_info triple.
_RESULT_TAKES_EXCEPTION: Final = "exception" in inspect.signature(_ResultClass).parameters


def new_impl(plugin: object, plugin_name: str, function: Any, opts: dict[str, Any]) -> Any:
    """A ``HookImpl`` with every option set (missing ones take their defaults).

    pluggy 0.13 reads a function's parameters with ``getfullargspec``, which
    does not follow ``functools.wraps``: a decorated hookimpl would be called
    with no argument. Its parameters are then read as later pluggy releases
    read them, through ``inspect.signature``.
    """
    impl = HookImpl(plugin, plugin_name, function, {**IMPL_DEFAULTS, **opts})
    if (hasattr(function, "__wrapped__") and getattr(impl, "argnames", None) == ()
            and getattr(impl, "kwargnames", None) == ()):
        impl.argnames, impl.kwargnames = _signature_names(function)
    return impl


def _signature_names(function: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(argnames, kwargnames)`` as pluggy 1.x reads them (``self`` left out)."""
    try:
        params = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return (), ()
    if params and params[0].name == "self" and not inspect.ismethod(function):
        params = params[1:]
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    args = tuple(p.name for p in positional if p.default is p.empty)
    kwargs = tuple(p.name for p in positional if p.default is not p.empty)
    return args, kwargs


def hook_caller(pm: pluggy.PluginManager, hook_name: str) -> Any:
    """The hook caller of ``hook_name``, made (without a spec) if there is none."""
    hook = getattr(pm.hook, hook_name, None)
    if hook is None:
        hook = HookCaller(hook_name, pm._hookexec)
        setattr(pm.hook, hook_name, hook)
    return hook


def hook_callers(pm: pluggy.PluginManager) -> Iterable[Any]:
    """Every hook caller of ``pm``."""
    return [h for h in vars(pm.hook).values() if isinstance(h, HookCaller)]


def set_impls(hook: Any, impls: Sequence[Any]) -> None:
    """Store ``impls`` (last runs first, pluggy's convention) as ``hook``'s list."""
    if _SPLIT_LISTS:
        wrappers = [i for i in impls if is_wrapper(i)]
        hook._nonwrappers[:] = [i for i in impls if not is_wrapper(i)]
        hook._wrappers[:] = wrappers
    else:
        hook._hookimpls[:] = impls


def registered(pm: pluggy.PluginManager) -> dict[str, object]:
    """pluggy's name -> plugin table (``None`` for a blocked name)."""
    table: dict[str, object] = pm._name2plugin
    return table


def tracked(pm: pluggy.PluginManager, plugin: object) -> list[Any]:
    """The hook callers pluggy's table records for ``plugin`` (pluggy 0.13 and 1.0
    add the callers ``subset_hook_caller`` makes there)."""
    table = getattr(pm, "_plugin2hookcallers", None)
    try:
        return list(table.get(plugin, ())) if table is not None else []
    except TypeError:  # unhashable
        return []


def track(pm: pluggy.PluginManager, plugin: object, hooks: Sequence[Any] | None) -> None:
    """Record ``plugin``'s hook callers where pluggy keeps a table of them
    (``None``: forget the plugin)."""
    table = getattr(pm, "_plugin2hookcallers", None)
    if table is None:
        return
    try:
        if hooks is None:
            table.pop(plugin, None)
        else:
            table[plugin] = list(hooks)
    except TypeError:  # an unhashable plugin (a dataclass instance): pluggy's table
        pass  # cannot hold it, and nova_hookspec does not read it


def is_wrapper(impl: Any) -> bool:
    """Whether ``impl`` is a wrapper, new-style or old-style."""
    opts = impl.opts
    return bool(opts.get("wrapper") or opts.get("hookwrapper"))


def install_executor(pm: pluggy.PluginManager, execute: Executor) -> Any:
    """Make ``execute`` the hook executor of ``pm``; return what was installed."""
    if _EXEC_TAKES_HOOK:

        def adapted(hook: Any, impls: Sequence[Any], kwargs: Mapping[str, object]) -> object:
            spec = hook.spec
            return execute(hook.name, impls, kwargs, bool(spec and spec.opts.get("firstresult")))

        installed: Any = adapted
    else:
        installed = execute
    pm._inner_hookexec = installed
    return installed


def executor(pm: pluggy.PluginManager) -> Any:
    """What runs ``pm``'s hooks now (differs from the installed one under monitoring)."""
    return pm._inner_hookexec


def run(
    pm: pluggy.PluginManager,
    hook_name: str,
    impls: Sequence[Any],
    kwargs: Mapping[str, object],
    firstresult: bool,
) -> object:
    """Run one hook through ``pm``'s executor, and so through any monitoring of it."""
    if _EXEC_TAKES_HOOK:
        hookexec: Any = pm._hookexec
        return hookexec(getattr(pm.hook, hook_name), impls, kwargs)
    return pm._hookexec(hook_name, impls, kwargs, firstresult)


def old_style_result(result: object, exc: BaseException | None) -> Any:
    """The result object an old-style ``hookwrapper`` receives from its ``yield``."""
    if _RESULT_TAKES_EXCEPTION:
        return _ResultClass(result, exc)
    excinfo = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return _ResultClass(result, excinfo)


def outcome_of(result_obj: Any) -> tuple[object, BaseException | None]:
    """``(result, exception)`` of an old-style wrapper's result object after it ran."""
    if _RESULT_TAKES_EXCEPTION:
        exc = result_obj.exception
    else:
        excinfo = result_obj._excinfo
        exc = excinfo[1] if excinfo else None
    if exc is not None:
        return None, exc
    return result_obj.get_result(), None


def problems() -> list[str]:
    """What of :data:`RELIED_ON` the installed pluggy does not provide."""
    found: list[str] = []
    pm = pluggy.PluginManager("nova_hookspec_probe")
    for attr in ("_name2plugin", "_inner_hookexec", "hook", "_hookexec", "add_hookcall_monitoring"):
        if not hasattr(pm, attr):
            found.append(f"PluginManager has no {attr}")
    if _SPLIT_LISTS and not isinstance(getattr(pm, "_plugin2hookcallers", None), dict):
        found.append("PluginManager has no _plugin2hookcallers table")
    hook = HookCaller("probe", pm._hookexec)
    lists = ("_nonwrappers", "_wrappers") if _SPLIT_LISTS else ("_hookimpls",)
    for attr in (*lists, "name", "spec", "get_hookimpls"):
        if not hasattr(hook, attr):
            found.append(f"HookCaller has no {attr}")
    params = list(inspect.signature(HookImpl).parameters)
    if params[:4] != ["plugin", "plugin_name", "function", "hook_impl_opts"]:
        found.append(f"HookImpl takes {params}")
    impl = new_impl(object(), "probe", lambda a, b=1: None, {"wrapper": False, "hookwrapper": False})
    for attr in ("function", "plugin", "plugin_name", "opts", "argnames", "kwargnames"):
        if not hasattr(impl, attr):
            found.append(f"HookImpl has no {attr}")
    calls: list[tuple[Any, ...]] = []
    installed = install_executor(pm, lambda *a: calls.append(a))
    undo = pm.add_hookcall_monitoring(lambda *a: None, lambda *a: None)
    if pm._inner_hookexec is installed:
        found.append("add_hookcall_monitoring does not wrap _inner_hookexec")
    undo()
    setattr(pm.hook, "probe", hook)  # noqa: B010 - as pluggy keeps them
    run(pm, "probe", [], {}, False)
    if len(calls) != 1 or calls[0][0] != "probe":
        found.append("_hookexec does not reach _inner_hookexec with the hook's name")
    result = old_style_result(None, ValueError("probe"))
    if not isinstance(outcome_of(result)[1], ValueError):
        found.append("the old-style wrapper result does not keep the exception")
    return found


__all__ = [
    "RELIED_ON",
    "HookCallError",
    "HookCaller",
    "HookImpl",
    "PluginValidationError",
]
