"""Checking a plugin against the hooks before it is registered.

Every problem is reported with the plugin, the hook and, for a typo, the
nearest valid hook or argument name. The same checks back ``register()``
(which raises) and entry-point discovery (which logs and skips).
"""

from __future__ import annotations

import difflib
import inspect
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from nova_hookspec._call.executor import CallCore
from nova_hookspec._call.legacy import LegacyHook
from nova_hookspec._call.policy import describe_exception
from nova_hookspec._seams import pluggy_api as _pluggy
from nova_hookspec._spec import points as _points
from nova_hookspec._spec.errors import PluginValidationError

log = logging.getLogger("nova_hookspec")

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def nearest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``name``, if any is reasonably close."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _suggest(name: str, candidates: Iterable[str]) -> str:
    match = nearest(name, candidates)
    return f"; did you mean {match!r}?" if match else ""


def impl_parameters(function: Callable[..., Any]) -> list[inspect.Parameter]:
    """The parameters pluggy fills, ``self`` of a method left out."""
    try:
        params = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return []
    # pluggy's rule: a plain function defined in a class drops a leading self.
    if (
        params
        and not inspect.ismethod(function)
        and "." in getattr(function, "__qualname__", "")
        and params[0].name == "self"
    ):
        params = params[1:]
    return params


def generic_problems(plugin_name: str, attr: str, opts: dict[str, Any]) -> Iterator[str]:
    """Problems of a hookimpl whatever its hook: marks that exclude each other."""
    if opts.get("wrapper") and opts.get("hookwrapper"):
        yield (f"plugin {plugin_name!r}, hookimpl {attr!r}: wrapper=True and "
               "hookwrapper=True are mutually exclusive (as in pluggy): use wrapper=True")


def hookimpl_problems(
    plugin_name: str,
    attr: str,
    function: Callable[..., Any],
    opts: dict[str, Any],
) -> Iterator[str]:
    """Each problem with one hookimpl, as a sentence naming plugin and hook."""
    yield from generic_problems(plugin_name, attr, opts)
    hook_name = opts.get("specname") or attr
    where = f"plugin {plugin_name!r}, hookimpl {attr!r}"
    if hook_name in _points.PLUGIN_HOOKS:
        yield from plugin_hook_problems(where, hook_name, function, opts)
        return
    located = _points.hook_phase(hook_name)
    if located is None:
        if not opts.get("optionalhook"):
            yield (
                f"{where}: there is no hook {hook_name!r}"
                f"{_suggest(hook_name, _points.hook_names())} (a custom hook name must "
                "be declared first, with add_hook() or a 'nova.hooks' entry point)"
            )
        return
    point, phase = located
    wrapper = bool(opts.get("wrapper") or opts.get("hookwrapper"))
    if phase == "call" and not wrapper:
        yield (
            f"{where}: hook {hook_name!r} takes wrappers only: Nova's own code is its "
            "implementation. Mark it @hookimpl(wrapper=True) and yield once to wrap the "
            f"call, or implement {point.hook_name('pre')!r} / {point.hook_name('post')!r} "
            "to observe it"
        )
    if wrapper and not inspect.isgeneratorfunction(function):
        yield f"{where}: a wrapper of hook {hook_name!r} must be a generator function (yield once)"
    if not wrapper and (
        inspect.isgeneratorfunction(function)
        or inspect.iscoroutinefunction(function)
        or inspect.isasyncgenfunction(function)
    ):
        kind = "a generator function" if inspect.isgeneratorfunction(function) else "async"
        yield (
            f"{where}: hook {hook_name!r} calls its observers as plain functions; this one is "
            f"{kind}, so its body would never run (mark it wrapper=True to wrap the call, or "
            "make it a plain def)"
        )
    allowed = point.hook_args(phase)
    if opts.get("deferred"):
        if phase != "post":
            yield (f"{where}: only post observers can be deferred, and hook {hook_name!r} "
                   f"is the {phase} phase (pre observers and wrappers can refuse or change "
                   f"the call, so they run in it); implement {point.hook_name('post')!r}")
        allowed = (*allowed, "delivery")
        yield from deferral_problems(where, point, function)
    for param in impl_parameters(function):
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            yield (
                f"{where}: hook {hook_name!r} passes arguments by name; *{param.name} / "
                f"**{param.name} receive nothing (ask for 'args' and 'kwargs' instead)"
            )
        elif param.kind is inspect.Parameter.KEYWORD_ONLY and param.default is param.empty:
            yield f"{where}: keyword-only parameter {param.name!r} is never filled by pluggy"
        elif param.name not in allowed:
            yield (
                f"{where}: hook {hook_name!r} has no argument {param.name!r}"
                f"{_suggest(param.name, allowed)}"
            )


def plugin_hook_problems(where: str, hook_name: str, function: Callable[..., Any],
                         opts: dict[str, Any]) -> Iterator[str]:
    """Problems of an implementation of a hook of no point (``known_instances``): a
    plain function (or generator function), asking only for what the hook offers."""
    if opts.get("wrapper") or opts.get("hookwrapper") or opts.get("deferred"):
        yield (f"{where}: hook {hook_name!r} is called by a command, not by a Nova call: "
               "it cannot be a wrapper nor deferred (mark it plain @hookimpl)")
    allowed = _points.PLUGIN_HOOKS[hook_name]
    for param in impl_parameters(function):
        if param.name not in allowed and param.default is param.empty:
            yield (f"{where}: hook {hook_name!r} has no argument {param.name!r}"
                   f"{_suggest(param.name, allowed)}")


def deferral_problems(where: str, point: _points.HookPoint,
                      function: Callable[..., Any]) -> Iterator[str]:
    """What stops an observer of ``point`` from being deferred: asking for the
    hooked object, which cannot be carried to the worker."""
    names = {param.name for param in impl_parameters(function)}
    if point.hooked_object and point.hooked_object in names:
        yield (f"{where}: a deferred observer cannot ask for {point.hooked_object!r} (Nova's "
               "live object stays in the calling process); ask for the values it needs, "
               "or do not defer it")


def hookimpls_of(
    plugin_name: str, plugin: object, parse: Callable[[object, str], Any]
) -> list[tuple[str, str, Any, dict[str, Any]]]:
    """``(attribute, hook name, function, options)`` of each hookimpl of ``plugin``
    (``parse`` finds an attribute's options).

    Whatever the plugin object does while it is inspected (a ``dir()`` or an
    attribute that raises) becomes one :class:`PluginValidationError` naming
    the plugin.
    """
    if isinstance(plugin, (LegacyHook, CallCore)):  # an adapter of our own knows its hooks
        return plugin.hookimpls()
    found = []
    attr = "(its attribute names)"
    try:
        for attr in dir(plugin):
            opts = parse(plugin, attr)
            if opts is None:
                continue
            function = getattr(plugin, attr)
            found.append((attr, opts.get("specname") or attr, function, dict(opts)))
    except Exception as exc:
        raise PluginValidationError(
            plugin,
            f"plugin {plugin_name!r} cannot be inspected: reading {attr!r} raised "
            f"{describe_exception(exc)}",
        ) from exc
    return found


def constructor_needs(cls: type) -> list[str]:
    """The arguments ``cls()`` lacks: those of its constructor without a default."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):  # a builtin's: tried, and refused if it fails
        return []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD,
             inspect.Parameter.KEYWORD_ONLY)
    return [p.name for p in signature.parameters.values()
            if p.kind in kinds and p.default is inspect.Parameter.empty]


def check_typed_class(cls: type, parse: Callable[[object, str], Any]) -> bool:
    """Whether an entry point's class is a typed plugin to instantiate (its methods
    are hookimpls); ``False`` for a class that marks nothing.

    :raises TypeError: its constructor needs arguments, which discovery cannot give.
    """
    if not hookimpls_of(repr(cls), cls, parse):
        return False
    needs = constructor_needs(cls)
    if needs:
        raise TypeError(
            f"{cls.__qualname__} is a class whose constructor needs "
            f"{', '.join(map(repr, needs))}: nova_hookspec makes one instance of a plugin "
            "class, with no argument; give them defaults, or name an instance of it (or a "
            "module) in the entry point")
    return True


def check_typed_plugin(plugin: object, parse: Callable[[object, str], Any]) -> None:
    """Refuse an entry-point object that cannot be a typed plugin.

    :raises TypeError: for an object with no hookimpl (``None``, ``42``, a
        module that marks nothing), or a class whose methods are hookimpls
        (discovery instantiates such a class first: :func:`check_typed_class`).
    """
    found = hookimpls_of(repr(plugin), plugin, parse)
    if isinstance(plugin, type) and found:
        raise TypeError(
            f"{plugin.__qualname__} is a class: name an instance of it (or a module) in "
            "the entry point; its hookimpls are methods that need an instance"
        )
    if not found:
        hint = ""
        if callable(getattr(plugin, "pre", None)) or callable(getattr(plugin, "post", None)):
            hint = ("; it has 'pre'/'post' methods: a classic nova.hooks class is declared "
                    "in the 'nova.hooks' entry-point group, its entry-point name the hook "
                    "name (create_instance = module:Class)")
        raise TypeError(f"{plugin!r} implements no hook (no function marked @hookimpl){hint}")


def drop_unfit_optional_impls(hooks: Any, point: _points.HookPoint) -> None:
    """Implementations registered (``optionalhook``) before ``point`` was declared
    are checked against it now, as registration would have: one that does not
    fit (a plain impl on the call hook, an argument the point lacks) is logged
    and dropped, and the declaration - Nova's module being imported - goes on.

    :param hooks: the manager's hook relay (``pm.hook``).
    """
    for hook_name in point.hook_names:
        hook = getattr(hooks, hook_name, None)
        if hook is None:
            continue
        impls = hook.get_hookimpls()
        kept = []
        for impl in impls:
            problems = list(hookimpl_problems(
                impl.plugin_name, hook_name, impl.function, dict(impl.opts)))
            if problems:
                log.error("nova_hookspec: %s; registered before hook point %r was "
                          "declared, this implementation is dropped",
                          "; ".join(problems), point.name)
            else:
                kept.append(impl)
        if len(kept) != len(impls):
            _pluggy.set_impls(hook, kept)

