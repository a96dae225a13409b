"""Instructions per hooked call, counted by callgrind, side by side (``nox -s bench``).

    python benchmarks/instructions.py [--nova-hooks DIR] [--only NAME ...]

Each scenario runs in a fresh ``python`` under ``valgrind --tool=callgrind``
twice, with 1,000 and with 6,000 calls; the difference, divided by 5,000, is
the cost of one call, start-up and set-up cancelled out. It repeats within a
fraction of a percent whatever else the machine does (wall-clock time, which
``benchmarks/run.py`` reports beside it, does not). Each nova_hookspec row is
paired with a hand-written loop that does the same work with no framework:

* ``no plugin``  / ``pass-through``: an ``*args, **kwargs`` wrapper calling Nova's function;
* ``1 legacy class``, ``10 legacy classes`` / their ``pre``/``post`` in a loop;
* ``10 typed observers`` / the same methods called in a loop with the argument they take;
* ``1 wrapper`` / a hand-driven generator: create, ``next``, call, ``send``,
  ``StopIteration``;
* ``nova/hooks.py``: Nova 21's own module (``--nova-hooks``), 1 and 10 legacy classes;
* ``raw pluggy``: 10 plain impls of a pre and a post hook called around the function.

Nothing asserts a count: the table and the ratios are the result.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve()
CALLS = (1000, 6000)


# ---------------------------------------------------------------- scenarios (run in the child)


def target(self: object, context: object, instance: object, nw_info: object = None) -> str:
    return "ok"


class Legacy:
    def pre(self, *args: Any, **kwargs: Any) -> None:
        pass

    def post(self, rv: Any, *args: Any, **kwargs: Any) -> None:
        pass


def _manager() -> Any:
    import nova_hookspec

    nova_hookspec.configure(autoload=False)
    return nova_hookspec.get_plugin_manager()


def _hooked() -> Callable[..., Any]:
    from nova_hookspec import add_hook

    return add_hook("instance_network_info")(target)


def _legacy(count: int) -> Callable[[], Any]:
    from nova_hookspec._legacy import LegacyHook
    from nova_hookspec._points import lookup

    pm = _manager()
    for n in range(count):
        pm.register(LegacyHook(lookup("instance_network_info"), Legacy()), f"legacy{n}")
    hooked = _hooked()
    return lambda: hooked(1, 2, 3)


def _legacy_loop(count: int) -> Callable[[], Any]:
    objs = [Legacy() for _ in range(count)]

    def loop() -> Any:
        args, kwargs = (1, 2, 3), {}
        for obj in objs:
            obj.pre(*args, **kwargs)
        rv = target(*args, **kwargs)
        for obj in objs:
            obj.post(rv, *args, **kwargs)
        return rv

    return loop


class Observer:
    def instance_network_info_pre(self, instance: Any) -> None:
        pass

    def instance_network_info_post(self, instance: Any) -> None:
        pass


def _typed(count: int) -> Callable[[], Any]:
    from nova_hookspec import hookimpl

    class Typed(Observer):
        instance_network_info_pre = hookimpl(Observer.instance_network_info_pre)
        instance_network_info_post = hookimpl(Observer.instance_network_info_post)

    pm = _manager()
    for n in range(count):
        pm.register(Typed(), f"typed{n}")
    hooked = _hooked()
    return lambda: hooked(1, 2, 3)


def _typed_loop(count: int) -> Callable[[], Any]:
    objs = [Observer() for _ in range(count)]

    def loop() -> Any:
        args = (1, 2, 3)
        for obj in objs:
            obj.instance_network_info_pre(args[2])
        rv = target(*args)
        for obj in objs:
            obj.instance_network_info_post(args[2])
        return rv

    return loop


def wrap(instance: Any) -> Any:
    return (yield)


def _wrapper() -> Callable[[], Any]:
    from nova_hookspec import hookimpl

    class Wrapper:
        instance_network_info = staticmethod(hookimpl(wrapper=True)(wrap))

    _manager().register(Wrapper(), "wrapper")
    hooked = _hooked()
    return lambda: hooked(1, 2, 3)


def _wrapper_loop() -> Callable[[], Any]:
    def drive() -> Any:
        args = (1, 2, 3)
        gen = wrap(args[2])
        next(gen)
        rv = target(*args)
        try:
            gen.send(rv)
        except StopIteration as stop:
            return stop.value
        raise RuntimeError("yielded twice")

    return drive


def _passthrough() -> Callable[[], Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return target(*args, **kwargs)

    return lambda: wrapper(1, 2, 3)


def _no_plugin() -> Callable[[], Any]:
    _manager()
    hooked = _hooked()
    return lambda: hooked(1, 2, 3)


def _nova(count: int) -> Callable[[], Any]:
    from nova import hooks  # the module put on sys.path by --nova-hooks

    site = Path(os.environ["BENCH_SITE"])
    sys.path.insert(0, str(site))
    hooked = hooks.add_hook(f"bench{count}")(target)
    return lambda: hooked(1, 2, 3)


def _raw_pluggy(count: int) -> Callable[[], Any]:
    import pluggy

    spec, impl = pluggy.HookspecMarker("raw"), pluggy.HookimplMarker("raw")

    class Specs:
        @spec
        def pre(self, instance: Any) -> None: ...

        @spec
        def post(self, instance: Any) -> None: ...

    class Plain:
        @impl
        def pre(self, instance: Any) -> None:
            pass

        @impl
        def post(self, instance: Any) -> None:
            pass

    pm = pluggy.PluginManager("raw")
    pm.add_hookspecs(Specs)
    for _ in range(count):
        pm.register(Plain())
    hook = pm.hook

    def call() -> Any:
        hook.pre(instance=3)
        rv = target(1, 2, 3)
        hook.post(instance=3)
        return rv

    return call


SCENARIOS: dict[str, Callable[[], Callable[[], Any]]] = {
    "pass-through": _passthrough,
    "no plugin": _no_plugin,
    "legacy loop 1": lambda: _legacy_loop(1),
    "1 legacy class": lambda: _legacy(1),
    "legacy loop 10": lambda: _legacy_loop(10),
    "10 legacy classes": lambda: _legacy(10),
    "typed loop 10": lambda: _typed_loop(10),
    "10 typed observers": lambda: _typed(10),
    "hand-driven generator": _wrapper_loop,
    "1 wrapper": _wrapper,
    "raw pluggy 10": lambda: _raw_pluggy(10),
    "nova/hooks.py 1": lambda: _nova(1),
    "nova/hooks.py 10": lambda: _nova(10),
}

#: (row, its baseline, the aim the issue set for the ratio)
PAIRS = [
    ("no plugin", "pass-through", 1.1),
    ("1 legacy class", "legacy loop 1", 1.2),
    ("10 legacy classes", "legacy loop 10", 1.05),
    ("10 typed observers", "typed loop 10", 2.0),
    ("1 wrapper", "hand-driven generator", 2.0),
    ("raw pluggy 10", "typed loop 10", None),
    ("nova/hooks.py 1", "1 legacy class", None),
    ("nova/hooks.py 10", "10 legacy classes", None),
]


def child(name: str, calls: int) -> None:
    func = SCENARIOS[name]()
    for _ in range(calls):
        func()


# ---------------------------------------------------------------- the driver


def instructions(name: str, calls: int, env: dict[str, str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
             sys.executable, str(HERE), "--child", name, str(calls)],
            check=True, capture_output=True, env=env, timeout=1200,
        )
        text = out.read_text()
    found = re.search(r"^(?:summary|totals):\s+(\d+)", text, flags=re.MULTILINE)
    assert found, "no instruction total in callgrind's output"
    return int(found.group(1))


def per_call(name: str, env: dict[str, str]) -> float:
    low, high = (instructions(name, calls, env) for calls in CALLS)
    return (high - low) / (CALLS[1] - CALLS[0])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nova-hooks", help="a folder holding Nova 21's nova/hooks.py")
    parser.add_argument("--only", nargs="*", help="only these scenarios")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], int(args.child[1]))
        return 0
    env = dict(os.environ)
    names = list(args.only or SCENARIOS)
    if args.nova_hooks:
        site = Path(tempfile.mkdtemp()) / "site"
        sys.path.insert(0, str(HERE.parent))
        from run import write_site

        write_site(site, [f"bench{n} = bench_hooks:Hook{i}" for n in (1, 10) for i in range(n)])
        env["BENCH_SITE"] = str(site)
        env["PYTHONPATH"] = os.pathsep.join([args.nova_hooks, str(site),
                                             env.get("PYTHONPATH", "")])
    else:
        names = [n for n in names if not n.startswith("nova/")]
    counts = {name: per_call(name, env) for name in names}
    print(f"{'scenario':<24}{'instructions/call':>18}")
    for name in names:
        print(f"{name:<24}{counts[name]:>18,.0f}")
    print(f"\n{'row':<22}{'baseline':<24}{'ratio':>7}{'aim':>7}")
    for row, base, aim in PAIRS:
        if row in counts and base in counts:
            ratio = counts[row] / counts[base]
            print(f"{row:<22}{base:<24}{ratio:>7.2f}{(f'<={aim}' if aim else ''):>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
