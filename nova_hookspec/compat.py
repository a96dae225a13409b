"""A drop-in for Nova's ``nova.hooks`` module, backed by nova_hookspec.

Code written for ``nova.hooks`` keeps working with ``from nova_hookspec
import compat as hooks``::

    @hooks.add_hook("resize_hook")
    def resize_instance(self, context, instance):
        ...

    manager = hooks.HookManager("resize_hook")
    manager.run_pre("resize_hook", args, kwargs)

Classes on the ``nova.hooks`` entry-point group run as before, now ordered
among typed plugins and wrapped by them.

The module keeps what Nova's own tests of ``nova.hooks`` look at
(``nova/tests/unit/test_hooks.py``, run unchanged against this module by
``nox -s nova``): ``_HOOKS`` (hook name -> manager, filled by the first call
of a decorated callable), managers' ``extensions`` (stevedore-like records
with ``name``, ``plugin``, ``obj``), ``HookManager.make_test_instance`` (a
manager holding the classes given, in the order given), and a
``HookManager`` that a test may replace in this module: a decorated callable
asks it for its manager, as Nova's did, when it next plans a call (after
:func:`reset`, or when the plugins change).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Final, NamedTuple, TypeVar
from typing import Callable as _Callable

from nova_hookspec._call import hooked as _hooked
from nova_hookspec._call.executor import HOOKED
from nova_hookspec._call.hooked import HookedFunction
from nova_hookspec._call.legacy import LegacyHook
from nova_hookspec._plugins import process as _process
from nova_hookspec._spec.errors import FatalHookException
from nova_hookspec._spec.markers import LEGACY_GROUP
from nova_hookspec._spec.points import HookPoint, Phase

#: The entry-point group of legacy hook classes.
NS: Final = LEGACY_GROUP

__all__ = ["NS", "FatalHookException", "HookManager", "add_hook", "reset"]

_F = TypeVar("_F", bound=_Callable[..., Any])  # typing's: subscriptable on Python 3.8

#: hook name -> its manager, as in Nova's module (filled by decorated callables).
_HOOKS: dict[str, Any] = {}


class Extension(NamedTuple):
    """One loaded legacy class, as stevedore's ``Extension`` shows it.

    :param name: the entry point's name (the hook name).
    :param entry_point: ``name = module:attr``, if it came from one.
    :param plugin: the class.
    :param obj: its instance, the one that runs.
    """

    name: str
    entry_point: str | None
    plugin: Any
    obj: Any


def _unknown(*args: Any, **kwargs: Any) -> None:
    raise TypeError("HookManager.run_pre/run_post got no function to describe")


#: The hooked-function record (its argument plan) of the last functions seen,
#: most recent last. Bounded: code that passes a fresh ``f`` on every call (a
#: lambda, a bound method) must not keep every one of them alive.
_described: OrderedDict[tuple[str, Callable[..., Any] | None], HookedFunction] = OrderedDict()
_DESCRIBED_MAX = 256


class HookManager:
    """Run the pre or post phase of one hook point by hand, as Nova's class did.

    :param name: the hook point (declared as a custom point if new).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.point: HookPoint | None = _process.declare_point(name)
        self._given: list[Any] | None = None
        self._installed_in: object = None

    @classmethod
    def make_test_instance(cls, extensions: Iterable[Any], namespace: str = "TESTING",
                           **_stevedore_options: Any) -> HookManager:
        """A manager holding ``extensions`` (stevedore ``Extension`` objects, or
        anything with ``name`` and ``obj``), as stevedore's classmethod makes one.

        Its classes run, in the order given, for the hook point of the first
        decorated callable that is given this manager (a test replaces
        ``HookManager`` in this module by a function returning it).
        """
        manager = cls.__new__(cls)
        manager.name = namespace
        manager.point = None
        manager._given = list(extensions)
        manager._installed_in = None
        return manager

    @property
    def extensions(self) -> list[Any]:
        """The classes this manager runs: the given ones for a test instance, else
        the loaded legacy classes of its hook point in the order they run."""
        if self._given is not None:
            return list(self._given)
        point = self.point if self.point is not None else _process.declare_point(self.name)
        pm = _process.get_plugin_manager()
        pm.load_point(point)
        hook = getattr(pm.hook, point.hook_name("pre"))
        post = getattr(pm.hook, point.hook_name("post"))
        seen: dict[int, Extension] = {}
        for impl in [*reversed(hook.get_hookimpls()), *reversed(post.get_hookimpls())]:
            plugin = impl.plugin
            if isinstance(plugin, LegacyHook) and id(plugin) not in seen:
                info = pm.plugin_infos.get(impl.plugin_name)
                seen[id(plugin)] = Extension(self.name, info.entry_point if info else None,
                                             type(plugin.obj), plugin.obj)
        return list(seen.values())

    def _install(self, name: str) -> None:
        """Run a test instance's classes on hook point ``name`` (once per manager
        and plugin manager)."""
        pm = _process.get_plugin_manager()
        if self._given is None or self._installed_in is pm:
            return
        self._installed_in = pm
        self.point = point = _process.declare_point(name)
        with pm.bulk():
            # Code-registered plugins run latest first: the last given goes in first.
            for index in reversed(range(len(self._given))):
                extension = self._given[index]
                obj = extension.obj
                adapter = LegacyHook(point, obj, tryfirst=bool(getattr(obj, "tryfirst", False)),
                                     trylast=bool(getattr(obj, "trylast", False)))
                pm.register(adapter, f"compat:{name}:{index}:{type(obj).__qualname__}")

    def _phase(
        self,
        phase: Phase,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        f: Callable[..., Any] | None,
        extra: dict[str, Any],
    ) -> None:
        point = self.point if self.point is not None else _process.declare_point(self.name)
        key = (point.name, f)
        hooked = _described.get(key)
        if hooked is None:  # the argument plan is worked out once per function
            hooked = _described[key] = HookedFunction(
                point, f or _unknown, pass_function=f is not None
            )
            while len(_described) > _DESCRIBED_MAX:
                _described.popitem(last=False)
        else:
            _described.move_to_end(key)
        hook_kwargs = hooked.plan.bind(tuple(args), kwargs)
        hook_kwargs[HOOKED] = hooked
        pm = _process.get_plugin_manager()  # every declared point has its specs
        pm.load_point(point)
        getattr(pm.hook, point.hook_name(phase))(**hook_kwargs, **extra)

    def run_pre(
        self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], f: Callable[..., Any] | None = None
    ) -> None:
        """Run the ``pre`` phase of hook ``name`` with the call's arguments."""
        target = self if name == self.name else HookManager(name)
        target._phase("pre", args, kwargs, f, {})

    def run_post(
        self,
        name: str,
        rv: object,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        f: Callable[..., Any] | None = None,
    ) -> None:
        """Run the ``post`` phase of hook ``name`` with the call's result and arguments."""
        target = self if name == self.name else HookManager(name)
        target._phase("post", args, kwargs, f, {"result": rv})


def _manager_for(name: str) -> Callable[[HookedFunction], None]:
    def prepare(hooked: HookedFunction) -> None:
        manager = _HOOKS.get(name)
        if manager is None:
            # Looked up in this module at call time, as Nova's add_hook did: a test
            # may have replaced HookManager.
            manager = _HOOKS.setdefault(name, globals()["HookManager"](name))
        install = getattr(manager, "_install", None)
        if install is not None:
            install(name)

    return prepare


def add_hook(name: str, pass_function: bool = False) -> Callable[[_F], _F]:
    """:func:`nova_hookspec.add_hook`, plus what Nova's module did on a call: the
    hook's manager is kept in ``_HOOKS`` (planned once, not built per call)."""
    decorate = _hooked.add_hook(name, pass_function)

    def outer(function: _F) -> _F:
        hooked_call = decorate(function)
        hooked: Any = getattr(hooked_call, "__nova_hookspec__")  # noqa: B009 - set by add_hook
        hooked.prepare = _manager_for(name)
        return hooked_call

    return outer


def reset() -> None:
    """Clear loaded hooks: ``_HOOKS``, and every plugin (the next call rediscovers)."""
    _HOOKS.clear()
    _process.reset()
