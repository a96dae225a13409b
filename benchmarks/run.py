"""Per-call cost of hooked calls, side by side in one process (``nox -s bench``).

Compared, for the same ``pre``/``post`` classes found through the same real
entry points:

* ``bare``: the undecorated function;
* ``nova``: Nova's own ``nova/hooks.py``, taken from the nova==21.2.4 wheel
  at bench time (``--nova-hooks DIR``) and run on stevedore;
* ``pluggy``: raw pluggy, the classes' methods as plain impls of a pre and a
  post hook, called around the function;
* ``floor``: a hand-written loop over the same ``pre``/``post`` methods;
* ``add_hook``: nova_hookspec, with 0, 1, 10 and 100 legacy classes, and
  with 10 typed observers and 10 typed wrappers;
* discovery: the first call with 10 and 500 installed plugins.

Prints a table of ns per call and the ratios against ``bare``, ``nova`` and
``floor``. Nothing here asserts a time; read the ratios.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import importlib.metadata
import logging
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

COUNTS = (0, 1, 10, 100)


def write_site(root: Path, lines: list[str], name: str = "bench-hooks") -> None:
    """A distribution in ``root`` declaring ``lines`` on the ``nova.hooks`` group."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "bench_hooks.py").write_text(textwrap.dedent("""
        class Hook:
            def pre(self, *args, **kwargs):
                pass

            def post(self, rv, *args, **kwargs):
                pass

        for _i in range(1000):  # distinct classes: one entry point each
            globals()[f"Hook{_i}"] = type(f"Hook{_i}", (Hook,), {})
    """))
    info = root / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("\n".join(["[nova.hooks]", *lines]) + "\n")


def per_call_ns(func: Callable[[], object], min_seconds: float = 0.2) -> float:
    """Best of five runs, in ns per call."""
    timer = timeit.Timer(func)
    number, _ = timer.autorange()
    number = max(number, int(number * min_seconds / 0.2))
    return min(timer.repeat(repeat=5, number=number)) / number * 1e9


def target(self: object, context: object, instance: object, nw_info: object = None) -> str:
    return "ok"


class Args:
    self = object()
    context = object()
    instance = object()


def bench_calls(nova_hooks: Any) -> list[tuple[str, int, float]]:
    import pluggy

    import nova_hookspec
    from nova_hookspec import hookimpl

    rows: list[tuple[str, int, float]] = []
    a = Args
    rows.append(("bare", 0, per_call_ns(lambda: target(a.self, a.context, a.instance))))
    for n in COUNTS:
        # Nova's hooks: one HookManager per call, as Nova built them.
        if nova_hooks is not None:
            nova_hooked = nova_hooks.add_hook(f"bench{n}")(target)
            rows.append(("nova", n, per_call_ns(lambda f=nova_hooked: f(a.self, a.context, a.instance))))
        # The same classes, instantiated once, for the floor and raw pluggy.
        from importlib.metadata import entry_points

        objs = [ep.load()() for ep in entry_points(group="nova.hooks", name=f"bench{n}")]

        def floor(objs: list[Any] = objs) -> object:
            args, kwargs = (a.self, a.context, a.instance), {}
            for o in objs:
                o.pre(*args, **kwargs)
            rv = target(*args, **kwargs)
            for o in objs:
                o.post(rv, *args, **kwargs)
            return rv

        rows.append(("floor", n, per_call_ns(floor)))

        pm = pluggy.PluginManager("rawbench")
        spec = pluggy.HookspecMarker("rawbench")
        impl = pluggy.HookimplMarker("rawbench")

        class Specs:
            @spec
            def pre(self, args: Any, kwargs: Any) -> None: ...

            @spec
            def post(self, rv: Any, args: Any, kwargs: Any) -> None: ...

        pm.add_hookspecs(Specs)
        for o in objs:
            class Adapter:
                def __init__(self, o: Any) -> None:
                    self.o = o

                @impl
                def pre(self, args: Any, kwargs: Any) -> None:
                    self.o.pre(*args, **kwargs)

                @impl
                def post(self, rv: Any, args: Any, kwargs: Any) -> None:
                    self.o.post(rv, *args, **kwargs)

            pm.register(Adapter(o))

        def raw(pm: pluggy.PluginManager = pm) -> object:
            args, kwargs = (a.self, a.context, a.instance), {}
            pm.hook.pre(args=args, kwargs=kwargs)
            rv = target(*args, **kwargs)
            pm.hook.post(rv=rv, args=args, kwargs=kwargs)
            return rv

        rows.append(("pluggy", n, per_call_ns(raw)))

        nova_hookspec.reset()
        ours = nova_hookspec.add_hook(f"bench{n}")(target)
        ours(a.self, a.context, a.instance)  # discovery happens here, outside the timing
        rows.append(("add_hook", n, per_call_ns(lambda f=ours: f(a.self, a.context, a.instance))))

    # Typed plugins on a typed point: 10 observers on pre and post, 10 wrappers.
    for kind in ("typed observers", "typed wrappers"):
        nova_hookspec.reset()
        nova_hookspec.configure(autoload=False)
        pm2 = nova_hookspec.get_plugin_manager()
        for i in range(10):
            if kind == "typed observers":
                class Observer:
                    @hookimpl
                    def instance_network_info_pre(self, instance: Any, nw_info: Any) -> None:
                        pass

                    @hookimpl
                    def instance_network_info_post(self, result: Any, instance: Any) -> None:
                        pass

                pm2.register(Observer(), f"observer-{i}")
            else:
                class Wrapper:
                    @hookimpl(wrapper=True)
                    def instance_network_info(self, instance: Any) -> Any:
                        return (yield)

                pm2.register(Wrapper(), f"wrapper-{i}")
        typed = nova_hookspec.add_hook("instance_network_info")(target)
        rows.append((f"add_hook, {kind}", 10,
                     per_call_ns(lambda f=typed: f(a.self, a.context, a.instance))))
        nova_hookspec.configure()
    nova_hookspec.reset()
    return rows


_FIRST_CALL = """
import logging, sys, time
logging.getLogger().addHandler(logging.NullHandler())
sys.path.insert(0, {bench!r})
from run import Args, target
if {nova!r}:
    import nova.hooks as hooks
else:
    import nova_hookspec as hooks
hooked = hooks.add_hook({name!r})(target)
started = time.perf_counter()
hooked(Args.self, Args.context, Args.instance)
print(time.perf_counter() - started)
"""


def bench_discovery(nova_hooks_dir: Path | None, root: Path) -> list[tuple[str, int, float]]:
    """The first call in a fresh process with only ``n`` plugins installed, cold caches."""
    rows = []
    for n in (10, 500):
        site = root / f"discover{n}"
        write_site(site, [f"discover{n} = bench_hooks:Hook{i}" for i in range(n)])
        kinds = [("add_hook", False)] + ([("nova", True)] if nova_hooks_dir else [])
        for label, nova in kinds:
            path = [str(site), *([str(nova_hooks_dir)] if nova else []), *sys.path]
            times = []
            for run in range(3):
                env = {**os.environ, "PYTHONPATH": os.pathsep.join(path),
                       "XDG_CACHE_HOME": str(root / f"cache-{label}-{n}-{run}")}
                code = _FIRST_CALL.format(bench=str(Path(__file__).parent), nova=nova,
                                          name=f"discover{n}")
                done = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                      capture_output=True, text=True)
                times.append(float(done.stdout.strip().splitlines()[-1]))
            rows.append((f"first call, {label}", n, min(times) * 1e9))
    return rows


def table(rows: list[tuple[str, int, float]]) -> str:
    """The table, with each row's ratios against its baselines of the same size."""
    by = {(name, n): ns for name, n, ns in rows}
    bare = by[("bare", 0)]
    out = [
        f"{'implementation':<28} {'classes':>7} {'ns/call':>13} {'x bare':>8} "
        f"{'nova/x':>8} {'x floor':>8}",
    ]
    nan = float("nan")
    for name, n, ns in rows:
        first = name.startswith("first call")
        nova = by.get(("first call, nova" if first else "nova", n))
        floor = None if first else by.get(("floor", n))
        out.append(
            f"{name:<28} {n:>7} {ns:>13,.0f} {(nan if first else ns / bare):>8.2f} "
            f"{(nova / ns if nova else nan):>8.2f} {(ns / floor if floor else nan):>8.2f}"
        )
    out.append("")
    out.append(
        f"no plugin: add_hook costs {by[('add_hook', 0)] / bare:.2f}x a bare call; "
        f"10 legacy classes: add_hook is {by[('nova', 10)] / by[('add_hook', 10)]:.1f}x "
        f"faster than Nova's hooks and {by[('add_hook', 10)] / by[('floor', 10)]:.2f}x the "
        "hand-written loop"
        if ("nova", 10) in by else
        f"no plugin: add_hook costs {by[('add_hook', 0)] / bare:.2f}x a bare call; "
        f"10 legacy classes: {by[('add_hook', 10)] / by[('floor', 10)]:.2f}x the hand-written loop"
    )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nova-hooks", type=Path,
                        help="a folder holding nova/hooks.py and nova/i18n.py from the nova wheel")
    args = parser.parse_args()
    # Nova's HookManager logs a deprecation warning each time it is built (each call):
    # keep that cost, but not its output.
    logging.getLogger().addHandler(logging.NullHandler())
    with tempfile.TemporaryDirectory() as tmp:
        calls_site = Path(tmp) / "calls"
        write_site(calls_site, [f"bench{n} = bench_hooks:Hook{i}" for n in COUNTS for i in range(n)])
        sys.path.insert(0, str(calls_site))
        nova_hooks = None
        if args.nova_hooks:
            sys.path.insert(0, str(args.nova_hooks))
            nova_hooks = importlib.import_module("nova.hooks")
        print(f"# nova_hookspec benchmarks, {datetime.date.today()}")
        print(f"# {platform.python_implementation()} {platform.python_version()}, "
              f"{platform.machine()}, {os.cpu_count()} CPUs, pluggy "
              f"{importlib.metadata.version('pluggy')}")
        print("# nova/x: how many times faster than Nova's nova/hooks.py (higher is better)")
        print()
        rows = bench_calls(nova_hooks)
        sys.path.remove(str(calls_site))
        sys.modules.pop("bench_hooks", None)
        print(table(rows + bench_discovery(args.nova_hooks, Path(tmp))))


if __name__ == "__main__":
    main()
