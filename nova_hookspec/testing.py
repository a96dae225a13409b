"""The plugin authors' kit: test a plugin the way Nova will call it.

A pytest plugin (the ``pytest11`` entry point, active wherever pytest runs
with nova_hookspec installed; ``pip install 'nova-hookspec[testing]'``). Its
fixtures:

``hook_tester``
    a :class:`HookTester`: an isolated plugin manager (no entry point loaded,
    no ``NOVA_HOOKSPEC_*`` variable read, every control reset), made the
    process-wide one for the test and put back afterwards.
``nova_objects``
    factories of the objects the hooks receive: ``context()``,
    ``flavor()``, ``instance()``, ``network_info()`` - real ``nova.objects``
    when Nova is importable, faithful stand-ins (same attribute names)
    otherwise.

::

    from nova_hookspec.testing import HookTester
    import acme_inventory

    def test_registers_on_create(hook_tester: HookTester) -> None:
        hook_tester.register(acme_inventory)
        run = hook_tester.run("create_instance")
        assert run.ran("post") == ["acme_inventory"]
        assert run.failures == []

Everything here also works without pytest (``HookTester()`` as a context
manager).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Callable

from nova_hookspec._call import policy as _policy
from nova_hookspec._call import tracing as _tracing
from nova_hookspec._call.hooked import HookedFunction
from nova_hookspec._call.legacy import LegacyHook
from nova_hookspec._nova import standins as _standins
from nova_hookspec._plugins import controls as _controls
from nova_hookspec._plugins import process as _process
from nova_hookspec._plugins.manager import NovaPluginManager

__all__ = ["Call", "Failure", "HookTester", "PointRun", "nova_objects"]


@dataclass(frozen=True)
class Call:
    """One implementation that ran: the plugin's registered name, the hook, the phase."""

    plugin: str
    hook: str
    phase: str


@dataclass(frozen=True)
class Failure:
    """A plugin that raised: logged by nova_hookspec, and the call went on (unless fatal)."""

    plugin: str
    hook: str
    phase: str
    exception: BaseException


@dataclass
class PointRun:
    """What one three-phase call of a hook point did.

    :param result: what the caller got (``None`` if it raised).
    :param exception: what the caller got raised, if anything.
    :param calls: every implementation that ran, in order (Nova's callable is
        the plugin ``"(nova)"`` of the call phase).
    :param failures: every plugin failure, in order.
    """

    result: Any = None
    exception: BaseException | None = None
    calls: list[Call] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    def ran(self, phase: str | None = None) -> list[str]:
        """The plugins that ran (in ``phase``, or in every phase), in order."""
        return [c.plugin for c in self.calls
                if (phase is None or c.phase == phase) and c.plugin != "(nova)"]


def nova_objects(real: bool | None = None) -> _standins.StandinObjects:
    """Factories of the objects the hooks receive (real ``nova.objects`` when Nova is
    importable, or with ``real=True``; stand-ins with ``real=False``)."""
    return _standins.nova_objects(real)


class HookTester:
    """An isolated plugin manager, made the process-wide one while in use.

    :param objects: the object factories (default: :func:`nova_objects`).
    """

    def __init__(self, objects: _standins.StandinObjects | None = None) -> None:
        self.objects = objects or nova_objects()
        self._saved: tuple[Any, ...] | None = None
        self._env: dict[str, str] = {}
        self.pm: NovaPluginManager = NovaPluginManager()

    # ------------------------------------------------------------ isolation

    def __enter__(self) -> HookTester:
        state = _process.STATE
        self._saved = (state.current, dict(_controls._api))
        self._env = {k: v for k, v in os.environ.items() if k.startswith("NOVA_HOOKSPEC_")}
        for key in self._env:
            del os.environ[key]
        _controls.configure(autoload=False)
        self.pm.controls = _controls.current(config={})
        self.pm.discovery = None
        state.current = self.pm
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._saved is not None
        current, api = self._saved
        _process.STATE.current = current
        _controls._api.clear()
        _controls._api.update(api)
        os.environ.update(self._env)

    # ------------------------------------------------------------ plugins

    def register(self, plugin: object, name: str | None = None) -> str:
        """Register a typed plugin (a module, a class instance); return its name.

        :raises nova_hookspec.PluginValidationError: as in production, for a
            hookimpl named for no hook, an unknown argument and so on.
        """
        registered = self.pm.register(plugin, name)
        assert registered is not None
        return registered

    def register_legacy(
        self, hook: str, cls: Any, name: str | None = None, *, tryfirst: bool = False,
        trylast: bool = False,
    ) -> str:
        """Register a classic ``nova.hooks`` class (instantiated as Nova did) on ``hook``,
        the legacy hook name (``build_instance``, ``create_instance``, ...)."""
        point = _process.declare_point(hook)
        obj = cls() if isinstance(cls, type) else cls
        adapter = LegacyHook(point, obj, tryfirst=tryfirst or bool(getattr(obj, "tryfirst", 0)),
                             trylast=trylast or bool(getattr(obj, "trylast", False)))
        return self.register(adapter, name or f"{type(obj).__module__}:{type(obj).__qualname__}"
                             f"[{hook}]")

    # ------------------------------------------------------------ calls

    def sample(self, point: str) -> tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]:
        """A stand-in Nova callable of ``point`` and the arguments Nova passes it."""
        function, args, kwargs, _result = _standins.sample_calls(self.objects)[point]
        return function, args, dict(kwargs)

    def run(
        self,
        point: str,
        *args: Any,
        function: Callable[..., Any] | None = None,
        pass_function: bool = False,
        **kwargs: Any,
    ) -> PointRun:
        """Make one hooked call of ``point``: pre observers, wrappers around the
        callable, post observers, with the plugins registered here.

        :param point: a hook point (``create_instance``) or legacy name
            (``build_instance``), or a custom name.
        :param args: the callable's positional arguments (default: what Nova
            passes, with :attr:`objects`).
        :param function: the callable (default: a stand-in with Nova's signature).
        :param kwargs: its keyword arguments.
        :returns: the result and a record of what ran and what failed; an
            exception the caller would get is in ``exception``, not raised.
        """
        hook_point = _process.declare_point(point)
        if function is None:
            if hook_point.name not in _standins.sample_calls(self.objects):
                raise ValueError(f"hook point {point!r} has no stand-in: pass function=")
            function, sample_args, sample_kwargs = self.sample(hook_point.name)
            if not args and not kwargs:
                args, kwargs = sample_args, sample_kwargs
        run = PointRun()

        def emit(hook_name: str, timing: Any, total: float) -> None:
            phase = _policy.phase_of(hook_name)
            run.calls.extend(Call(plugin, hook_name, phase) for plugin in timing)

        def failed(plugin: str, hook_name: str, exc: BaseException) -> None:
            run.failures.append(Failure(plugin, hook_name, _policy.phase_of(hook_name), exc))

        hooked = HookedFunction(hook_point, function, pass_function)
        undo = _tracing.enable(self.pm, emit)
        _policy.listeners.append(failed)
        try:
            run.result = hooked.call(tuple(args), dict(kwargs))
        except Exception as exc:  # noqa: BLE001 - handed to the test in the record
            run.exception = exc
        finally:
            _policy.listeners.remove(failed)
            undo()
        return run


with contextlib.suppress(ImportError):
    import pytest

    @pytest.fixture
    def hook_tester() -> Iterator[HookTester]:
        """An isolated plugin manager with helpers to call hook points (:class:`HookTester`)."""
        with HookTester() as tester:
            yield tester

    @pytest.fixture(name="nova_objects")
    def nova_objects_fixture() -> _standins.StandinObjects:
        """Factories of the objects the hooks receive (real ones when Nova is importable)."""
        return nova_objects()

