"""The benchmark scenarios, each set up and run in a fresh interpreter.

    python benchmarks/scenarios.py calls NAME COUNT   # make COUNT calls (for callgrind)
    python benchmarks/scenarios.py wall NAME          # print ns per call (best of 5)
    python benchmarks/scenarios.py first SYSTEM [--preload]
                                                      # print import and first-call seconds

The plugins come from real distributions: ``BENCH_SITE`` names a folder (made
by :func:`write_site`) holding a ``.dist-info`` and the plugin module, put on
``sys.path`` before anything is imported. Nova's ``nova/hooks.py`` (21.2.4)
is on ``PYTHONPATH`` for the ``nova/hooks.py`` scenarios and ``first nova``.
Every hand-written loop calls the very objects the frameworks call.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import timeit
from pathlib import Path
from typing import Any, Callable

#: What each site holds: legacy classes (``nova.hooks``, hook point
#: ``instance_network_info``), typed observers, typed wrappers.
SITES: dict[str, tuple[int, int, int]] = {
    "empty": (0, 0, 0),
    "legacy1": (1, 0, 0),
    "legacy10": (10, 0, 0),
    "typed10": (0, 10, 0),
    "wrapper1": (0, 0, 1),
    "typed10wrapper1": (0, 10, 1),
    "first10": (10, 0, 0),
    "first500": (500, 0, 0),
}

HOOK = "instance_network_info"

LEGACY = '''
class Hook:
    def pre(self, *args, **kwargs):
        pass

    def post(self, rv, *args, **kwargs):
        pass


for _i in range({legacy}):  # distinct classes, one entry point each
    globals()[f"Hook{{_i}}"] = type(f"Hook{{_i}}", (Hook,), {{}})
'''

#: Typed plugins only where a site has some: a legacy-only site imports
#: nothing of nova_hookspec (Nova's first call loads this module).
TYPED = '''
from nova_hookspec import hookimpl


class Observer:
    @hookimpl
    def instance_network_info_pre(self, instance):
        pass

    @hookimpl
    def instance_network_info_post(self, instance):
        pass


class Wrapper:
    @hookimpl(wrapper=True)
    def instance_network_info(self, instance):
        return (yield)


OBSERVERS = [Observer() for _ in range({typed})]
WRAPPERS = [Wrapper() for _ in range({wrappers})]
for _i, _o in enumerate(OBSERVERS):
    globals()[f"observer{{_i}}"] = _o
for _i, _w in enumerate(WRAPPERS):
    globals()[f"wrapper{{_i}}"] = _w
'''


def write_site(root: Path, kind: str) -> Path:
    """A folder with one distribution declaring the plugins of ``kind``."""
    legacy, typed, wrappers = SITES[kind]
    site = root / kind
    info = site / "bench_plugins-1.0.dist-info"
    info.mkdir(parents=True)
    source = LEGACY.format(legacy=legacy)
    if typed or wrappers:
        source += TYPED.format(typed=typed, wrappers=wrappers)
    (site / "bench_plugins.py").write_text(source)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: bench-plugins\nVersion: 1.0\n")
    lines = ["[nova.hooks]", *(f"{HOOK} = bench_plugins:Hook{i}" for i in range(legacy)),
             "[nova_hookspec]", *(f"observer{i} = bench_plugins:observer{i}" for i in range(typed)),
             *(f"wrapper{i} = bench_plugins:wrapper{i}" for i in range(wrappers))]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return site


# ---------------------------------------------------------------- scenarios


def target(self: object, context: object, instance: object, nw_info: object = None) -> str:
    """Nova's ``update_instance_cache_with_nw_info`` stand-in: does nothing."""
    return "ok"


ARGS = (object(), object(), object())


def _plugins() -> Any:
    import bench_plugins  # type: ignore[import-not-found]

    return bench_plugins


def _nova_hookspec() -> Callable[[], Any]:
    from nova_hookspec import add_hook

    hooked = add_hook(HOOK)(target)
    a, b, c = ARGS
    hooked(a, b, c)  # discovery and planning happen here, before the measured calls
    return lambda: hooked(a, b, c)


def _passthrough() -> Callable[[], Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return target(*args, **kwargs)

    a, b, c = ARGS
    return lambda: wrapper(a, b, c)


def _legacy_loop(count: int) -> Callable[[], Any]:
    module = _plugins()
    objs = [getattr(module, f"Hook{i}")() for i in range(count)]

    def loop() -> Any:
        args: tuple[Any, ...] = ARGS
        kwargs: dict[str, Any] = {}
        for obj in objs:
            obj.pre(*args, **kwargs)
        rv = target(*args, **kwargs)
        for obj in objs:
            obj.post(rv, *args, **kwargs)
        return rv

    return loop


def _typed_loop() -> Callable[[], Any]:
    objs = _plugins().OBSERVERS

    def loop() -> Any:
        args = ARGS
        for obj in objs:
            obj.instance_network_info_pre(args[2])
        rv = target(*args)
        for obj in objs:
            obj.instance_network_info_post(args[2])
        return rv

    return loop


def _drive(wrapper: Any, args: tuple[Any, ...]) -> Any:
    gen = wrapper.instance_network_info(args[2])
    next(gen)
    rv = target(*args)
    try:
        gen.send(rv)
    except StopIteration as stop:
        return stop.value
    raise RuntimeError("yielded twice")


def _hand_driven() -> Callable[[], Any]:
    [wrapper] = _plugins().WRAPPERS
    return lambda: _drive(wrapper, ARGS)


def _typed_loop_and_driven() -> Callable[[], Any]:
    module = _plugins()
    objs, [wrapper] = module.OBSERVERS, module.WRAPPERS

    def loop() -> Any:
        args = ARGS
        for obj in objs:
            obj.instance_network_info_pre(args[2])
        rv = _drive(wrapper, args)
        for obj in objs:
            obj.instance_network_info_post(args[2])
        return rv

    return loop


def _raw_pluggy() -> Callable[[], Any]:
    import pluggy

    spec, impl = pluggy.HookspecMarker("raw"), pluggy.HookimplMarker("raw")

    class Specs:
        @spec
        def pre(self, instance: Any) -> None: ...

        @spec
        def post(self, instance: Any) -> None: ...

    class Plain:
        def __init__(self, observer: Any) -> None:
            self.observer = observer

        @impl
        def pre(self, instance: Any) -> None:
            self.observer.instance_network_info_pre(instance)

        @impl
        def post(self, instance: Any) -> None:
            self.observer.instance_network_info_post(instance)

    pm = pluggy.PluginManager("raw")
    pm.add_hookspecs(Specs)
    for observer in _plugins().OBSERVERS:
        pm.register(Plain(observer))
    hook = pm.hook

    def call() -> Any:
        args = ARGS
        hook.pre(instance=args[2])
        rv = target(*args)
        hook.post(instance=args[2])
        return rv

    return call


def _nova() -> Callable[[], Any]:
    from nova import hooks  # Nova 21's module, on PYTHONPATH

    hooked = hooks.add_hook(HOOK)(target)
    a, b, c = ARGS
    return lambda: hooked(a, b, c)


#: name -> (site kind, set-up returning the call to measure)
SCENARIOS: dict[str, tuple[str, Callable[[], Callable[[], Any]]]] = {
    "pass-through": ("empty", _passthrough),
    "no plugin": ("empty", _nova_hookspec),
    "legacy loop 1": ("legacy1", lambda: _legacy_loop(1)),
    "1 legacy class": ("legacy1", _nova_hookspec),
    "legacy loop 10": ("legacy10", lambda: _legacy_loop(10)),
    "10 legacy classes": ("legacy10", _nova_hookspec),
    "typed loop 10": ("typed10", _typed_loop),
    "10 typed observers": ("typed10", _nova_hookspec),
    "hand-driven generator": ("wrapper1", _hand_driven),
    "1 wrapper": ("wrapper1", _nova_hookspec),
    "typed loop 10 + generator": ("typed10wrapper1", _typed_loop_and_driven),
    "10 observers + 1 wrapper": ("typed10wrapper1", _nova_hookspec),
    "raw pluggy 10": ("typed10", _raw_pluggy),
    "nova/hooks.py 1": ("legacy1", _nova),
    "nova/hooks.py 10": ("legacy10", _nova),
}


def wall_ns(func: Callable[[], Any]) -> float:
    """Best of five timed runs of about 0.2 s each, in ns per call."""
    timer = timeit.Timer(func)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=5, number=number)) / number * 1e9


# ---------------------------------------------------------------- the first call


def first_call(system: str, preload: bool) -> dict[str, float]:
    """Import ``system`` and make its first hooked call; seconds for each.

    With ``preload``, ``importlib.metadata`` is imported first, as it is in
    any Nova service (stevedore, oslo.config and pbr import it).
    """
    if preload:
        if sys.version_info >= (3, 10):
            import importlib.metadata  # noqa: F401
        else:
            import importlib_metadata  # type: ignore[import-not-found]  # noqa: F401
    started = time.perf_counter()
    if system == "nova":
        from nova import hooks as module
    else:
        import nova_hookspec as module
    imported = time.perf_counter()
    hooked = module.add_hook(HOOK)(target)
    called = time.perf_counter()
    hooked(*ARGS)
    done = time.perf_counter()
    return {"import": imported - started, "first call": done - called}


def main(argv: list[str]) -> None:
    site = os.environ.get("BENCH_SITE")
    if site:
        sys.path.insert(0, site)
    # Nova's HookManager logs a deprecation warning each time it is built (each
    # call): keep that cost, not its output.
    import logging

    logging.getLogger().addHandler(logging.NullHandler())
    os.environ.setdefault("XDG_CACHE_HOME", tempfile.mkdtemp())  # stevedore's, cold
    mode, *rest = argv
    if mode == "first":
        print(json.dumps(first_call(rest[0], "--preload" in rest)))
        return
    func = SCENARIOS[rest[0]][1]()
    if mode == "wall":
        print(wall_ns(func))
        return
    for _ in range(int(rest[1])):
        func()


if __name__ == "__main__":
    main(sys.argv[1:])
