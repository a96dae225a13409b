"""nova_hookspec's benchmarks, side by side in one run (``nox -s bench``).

    python benchmarks/run.py [--nova-hooks DIR] [--only NAME ...] [--no-callgrind]
                             [--runs N] [--json FILE]

**Per call.** Each scenario of :mod:`scenarios` runs in fresh interpreters:

* under ``valgrind --tool=callgrind`` with 1,000 and with 6,000 calls; the
  difference divided by 5,000 is the instructions (Ir) of one call, start-up
  and set-up cancelled out. With a fixed hash seed (``PYTHONHASHSEED=0``;
  random seeds move a count by about 2 %) it repeats exactly, whatever else
  the machine does;
* under ``timeit`` (best of 5 runs of about 0.2 s): ns per call, beside it.

Each nova_hookspec row is paired with a hand-written baseline doing the same
work with no framework, calling the very same plugin objects: an ``*args,
**kwargs`` pass-through, the legacy classes' ``pre``/``post`` in a loop, the
typed observers' methods in a loop with the argument they take, a wrapper's
generator driven by hand (create, ``next``, call, ``send``,
``StopIteration``). Raw pluggy and Nova 21's own ``nova/hooks.py`` (on
stevedore, ``--nova-hooks``) run the same plugins.

**First call and import.** In a fresh interpreter with only the plugins'
distribution installed besides the environment: the import of
``nova_hookspec`` and of Nova's ``nova.hooks``, and the first hooked call (all
discovery and set-up) with 10 and 500 legacy classes; once with
``importlib.metadata`` already imported (as in any Nova service, where
stevedore, oslo.config and pbr import it), once from a cold interpreter
(import and first call together). Best of ``--runs``.

Nothing here asserts a number: the tables and the ratios are the result.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import scenarios

HERE = Path(__file__).resolve().parent
SCRIPT = str(HERE / "scenarios.py")
CALLS = (1000, 6000)
#: Nova's hooks cost a thousand times more per call: fewer calls say as much.
NOVA_CALLS = (100, 600)

#: (row, its baseline, the aim the project set for the ratio, in instructions)
PAIRS: list[tuple[str, str, float | None]] = [
    ("no plugin", "pass-through", 1.1),
    ("1 legacy class", "legacy loop 1", 1.2),
    ("10 legacy classes", "legacy loop 10", 1.05),
    ("10 typed observers", "typed loop 10", 2.0),
    ("1 wrapper", "hand-driven generator", 2.0),
    ("10 observers + 1 wrapper", "typed loop 10 + generator", None),
    ("raw pluggy 10", "typed loop 10", None),
    ("nova/hooks.py 1", "1 legacy class", None),
    ("nova/hooks.py 10", "10 legacy classes", None),
]

#: What a scenario is, where its name does not say it.
NOTES = {
    "pass-through": "an *args, **kwargs wrapper calling the function",
    "no plugin": "nova_hookspec, the same plugins (rows below likewise)",
    "legacy loop 1": "the class's pre/post called by hand",
    "legacy loop 10": "the 10 classes' pre/post called by hand",
    "typed loop 10": "the 10 observers' methods called by hand",
    "hand-driven generator": "create, next, call, send, StopIteration",
    "typed loop 10 + generator": "the two above together",
    "raw pluggy 10": "10 plain impls of a pre and a post hook",
    "nova/hooks.py 1": "Nova 21's module: a stevedore manager per call",
}

FIRST_CALL_AIM = ("first call, 500 classes", 1.0)


def child_env(site: Path, nova_hooks: Path | None) -> dict[str, str]:
    env = {**os.environ, "BENCH_SITE": str(site), "PYTHONHASHSEED": "0"}
    env.pop("PYTHONPATH", None)
    if nova_hooks is not None:
        env["PYTHONPATH"] = str(nova_hooks)
    return env


def instructions(name: str, calls: int, env: dict[str, str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable,
             SCRIPT, "calls", name, str(calls)],
            check=True, capture_output=True, env=env, timeout=1800,
        )
        text = out.read_text()
    found = re.search(r"^(?:summary|totals):\s+(\d+)", text, flags=re.MULTILINE)
    assert found, "no instruction total in callgrind's output"
    return int(found.group(1))


def per_call_ir(name: str, env: dict[str, str]) -> float:
    low_calls, high_calls = NOVA_CALLS if name.startswith("nova/") else CALLS
    low, high = instructions(name, low_calls, env), instructions(name, high_calls, env)
    return (high - low) / (high_calls - low_calls)


def wall(name: str, env: dict[str, str]) -> float:
    done = subprocess.run([sys.executable, SCRIPT, "wall", name], check=True,
                          capture_output=True, text=True, env=env)
    return float(done.stdout.strip().splitlines()[-1])


def first_calls(sites: dict[str, Path], nova_hooks: Path | None,
                runs: int) -> dict[str, dict[str, float]]:
    """Import and first-call seconds, best of ``runs``, per system and site."""
    systems = ["nova_hookspec"] + (["nova"] if nova_hooks else [])
    found: dict[str, dict[str, float]] = {}
    for system in systems:
        for kind, classes in (("first10", 10), ("first500", 500)):
            env = child_env(sites[kind], nova_hooks if system == "nova" else None)
            for preload in (True, False):
                best: dict[str, float] = {}
                for _ in range(runs):
                    env["XDG_CACHE_HOME"] = tempfile.mkdtemp()  # stevedore's cache, cold
                    done = subprocess.run(
                        [sys.executable, SCRIPT, "first", system,
                         *(["--preload"] if preload else [])],
                        check=True, capture_output=True, text=True, env=env)
                    times = json.loads(done.stdout.strip().splitlines()[-1])
                    for key, value in times.items():
                        best[key] = min(best.get(key, value), value)
                found[f"{system} {classes} {'preloaded' if preload else 'cold'}"] = best
    return found


# ---------------------------------------------------------------- the report


def per_call_table(ir: dict[str, float], ns: dict[str, float]) -> list[str]:
    lines = [f"{'scenario':<28}{'Ir/call':>11}{'ns/call':>10}   what it is"]
    for name, nanoseconds in ns.items():
        count = f"{ir[name]:,.0f}" if name in ir else "-"
        lines.append(f"{name:<28}{count:>11}{nanoseconds:>10,.0f}   {NOTES.get(name, '')}")
    return lines


def ratio_table(ir: dict[str, float], ns: dict[str, float]) -> list[str]:
    lines = [f"{'row':<26}{'baseline':<27}{'Ir ratio':>9}{'wall':>7}   aim (Ir)"]
    for row, base, aim in PAIRS:
        if row not in ns or base not in ns:
            continue
        by_ir = f"{ir[row] / ir[base]:.2f}" if row in ir and base in ir else "-"
        verdict = ""
        if aim is not None and row in ir and base in ir:
            verdict = f"<= {aim}: {'met' if ir[row] / ir[base] <= aim else 'MISSED'}"
        lines.append(f"{row:<26}{base:<27}{by_ir:>9}{ns[row] / ns[base]:>7.2f}   {verdict}")
    return lines


def first_call_table(found: dict[str, dict[str, float]]) -> list[str]:
    def ms(key: str, part: str) -> float | None:
        item = found.get(key)
        if item is None:
            return None
        return 1e3 * (item["import"] + item["first call"] if part == "total" else item[part])

    rows = [("import", "10 cold", "import"),
            ("first call, 10 classes", "10 preloaded", "first call"),
            ("first call, 500 classes", "500 preloaded", "first call"),
            ("import + first call, 10 classes", "10 cold", "total"),
            ("import + first call, 500 classes", "500 cold", "total")]
    lines = [f"{'':<34}{'nova_hookspec':>14}{'nova/hooks.py':>15}{'ratio':>7}   aim"]
    for label, key, part in rows:
        ours, nova = ms(f"nova_hookspec {key}", part), ms(f"nova {key}", part)
        ratio = f"{ours / nova:.2f}" if ours and nova else "-"
        verdict = ""
        if label == FIRST_CALL_AIM[0] and ours and nova:
            verdict = f"<= {FIRST_CALL_AIM[1]}: {'met' if ours <= nova else 'MISSED'}"
        nova_text = f"{nova:.1f} ms" if nova else "-"
        lines.append(f"{label:<34}{ours or 0:>11.1f} ms{nova_text:>15}{ratio:>7}   {verdict}")
    return lines


def header() -> list[str]:
    import pluggy

    return [f"# nova_hookspec benchmarks, {datetime.date.today()}",
            f"# {platform.python_implementation()} {platform.python_version()}, "
            f"{platform.machine()}, {os.cpu_count()} CPUs, pluggy {pluggy.__version__}"]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nova-hooks", type=Path,
                        help="a folder holding Nova 21's nova/hooks.py and nova/i18n.py")
    parser.add_argument("--only", nargs="*", help="only these scenarios")
    parser.add_argument("--no-callgrind", action="store_true", help="wall-clock only")
    parser.add_argument("--runs", type=int, default=5, help="fresh interpreters per first call")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if not args.no_callgrind and shutil.which("valgrind") is None:
        parser.error("valgrind is not installed (apt-get install valgrind), or pass --no-callgrind")
    names = [n for n in (args.only or scenarios.SCENARIOS)
             if args.nova_hooks or not n.startswith("nova/")]
    with tempfile.TemporaryDirectory() as tmp:
        sites = {kind: scenarios.write_site(Path(tmp), kind) for kind in scenarios.SITES}
        ir: dict[str, float] = {}
        ns: dict[str, float] = {}
        for name in names:
            env = child_env(sites[scenarios.SCENARIOS[name][0]],
                            args.nova_hooks if name.startswith("nova/") else None)
            ns[name] = wall(name, env)
            if not args.no_callgrind:
                ir[name] = per_call_ir(name, env)
            print(f"  measured {name}", file=sys.stderr)
        found = first_calls(sites, args.nova_hooks, args.runs) if not args.only else {}
    report = [*header(), "", "## Per call", "", *per_call_table(ir, ns), "",
              *ratio_table(ir, ns)]
    if found:
        report += ["", "## First call and import (wall-clock, fresh interpreter, "
                   f"best of {args.runs})", "", *first_call_table(found)]
    print("\n".join(report))
    if args.json:
        args.json.write_text(json.dumps({"instructions": ir, "ns": ns, "first": found},
                                        indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
