"""Compare the runs of ``nox -s nova-functional``; exit 1 when a check fails.

    python tests_functional/compare.py RESULTS_DIR

RESULTS_DIR holds ``baseline.json`` and ``attached.json`` (outcomes, from
``run_nova_tests.py``), ``attached.jsonl`` (what the probe plugins
recorded) and, on Nova <= 21, ``nova-hooks.json`` and ``nova-hooks.jsonl``
(the probe's legacy class under Nova's own ``nova/hooks.py``). Checks:

1. every Nova test has the same outcome in every run;
2. each of the four hook points fired in the attached run, pre and post,
   with real Nova objects of the documented types;
3. for each instance, the phases came in order (a create, then its build,
   then its delete; a post only after its pre);
4. the failing plugin's failures were each logged, naming it;
5. on Nova <= 21, the legacy class got the same calls (hook, phase,
   argument shapes) from nova_hookspec as from Nova;
6. with ``attached-first.json`` (``attach_nova()`` called before Nova was
   imported): every point attached in the end and, when the attached run is
   there too, the typed observers called exactly as in it;
7. with ``attached-deferred.json`` (the probe's ``POSTS`` observer deferred,
   its jobs run by ``nova-hookspec worker --drain`` afterwards): every one of
   its records was written by the worker, none in a Nova test, and the
   multiset of (hook, number of instances, argument types) equals the attached run's,
   where it ran in the call.

Without ``attached.json`` only the outcomes (1) and check 6 are compared.
Every run's tests must also pass (a skip aside), not only agree; with
``attached.json`` (the ``FUNCTIONAL_TESTS`` list) the counts docs/attaching.md
states are checked too (:data:`DOCUMENTED`).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

#: What each point's typed observers must have been given, at least once.
EXPECTED_TYPES = {
    ("create_instance", "pre"): {"flavor": "Flavor", "context": "RequestContext",
                                 "compute_api": "API"},
    ("create_instance", "post"): {"result": "tuple", "result_0": "list"},
    ("build_and_run_instance", "pre"): {"instance": "Instance", "compute_manager":
                                        "ComputeManager", "context": "RequestContext"},
    ("build_and_run_instance", "post"): {"instance": "Instance"},
    ("delete_instance", "pre"): {"instance": "Instance", "bdms": "BlockDeviceMappingList"},
    ("delete_instance", "post"): {"instance": "Instance"},
    ("instance_network_info", "pre"): {"instance": "Instance", "nw_info": "NetworkInfo"},
    ("instance_network_info", "post"): {"instance": "Instance"},
}

ORDER = ["create_instance", "build_and_run_instance", "delete_instance"]

#: What docs/attaching.md states of the run of ``FUNCTIONAL_TESTS`` (tests/test_doc_counts.py
#: holds the page to these): how many Nova tests pass in every run, and on Nova 21.2.4
#: (the run with Nova's own ``nova/hooks.py``) the failures of the raising plugin logged
#: and the calls to the legacy class, the same through nova_hookspec as through Nova.
DOCUMENTED = {"tests": 7, "failures_logged_21": 35, "legacy_calls_21": 71}


def _load(directory: Path, name: str) -> Any:
    return json.loads((directory / name).read_text())


def _records(directory: Path, name: str) -> list[dict[str, Any]]:
    path = directory / name
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def check(directory: Path) -> list[str]:
    failures: list[str] = []
    runs = {mode: _load(directory, f"{mode}.json")
            for mode in ("baseline", "attached", "nova-hooks", "attached-first",
                         "attached-deferred")
            if mode == "baseline" or (directory / f"{mode}.json").exists()}
    if "attached-first" in runs:
        failures += _attached_first(directory, runs["attached-first"])
    if "attached-deferred" in runs:
        failures += _deferred(directory)
    tests = sorted(runs["baseline"]["outcomes"])

    print("Nova test outcomes:")
    print("  " + " | ".join(["test", *runs]))
    for test in tests:
        outcomes = [runs[mode]["outcomes"].get(test, "missing") for mode in runs]
        print("  " + " | ".join([test.rsplit(".", 2)[-2] + "." + test.rsplit(".", 1)[-1],
                                 *outcomes]))
        if len(set(outcomes)) != 1:
            failures.append(f"{test}: outcomes differ: {dict(zip(runs, outcomes))}")
            for mode in runs:
                detail = runs[mode]["details"].get(test)
                if detail:
                    print(f"--- {mode} {test}\n{detail[-3000:]}")
    print("run times: " + ", ".join(f"{m} {r['seconds']:.1f} s" for m, r in runs.items()))
    failures += _passed(runs, documented="attached" in runs)
    if "attached" not in runs:  # outcomes only (the attached-first run of a longer list)
        return failures

    records = _records(directory, "attached.jsonl")
    typed = [r for r in records if r["plugin"] == "typed"]
    counts = Counter((r["hook"], r["phase"]) for r in typed)
    print("typed observer calls in the attached run (hook, phase: count):")
    for (hook, phase), count in sorted(counts.items()):
        print(f"  {hook} {phase}: {count}")
    for (hook, phase), types in EXPECTED_TYPES.items():
        seen = [r["types"] for r in typed if r["hook"] == hook and r["phase"] == phase]
        if not seen:
            failures.append(f"{hook}_{phase} never fired")
            continue
        for name, type_name in types.items():
            if not any(s.get(name) == type_name for s in seen):
                got = sorted({s.get(name, "-") for s in seen})
                failures.append(f"{hook}_{phase}: {name} never a {type_name} (got {got})")

    failures += _phase_order(typed)

    failing_posts = sum(count for (_, phase), count in counts.items() if phase == "post")
    logged = [w for w in runs["attached"]["warnings"]
              if "nova-hookspec-probe:nova_hookspec_probe:FAILING" in w and "failed" in w]
    print(f"failing plugin: {failing_posts} post calls, {len(logged)} failures logged")
    if len(logged) != failing_posts:
        failures.append(f"failing plugin: {failing_posts} post calls but {len(logged)} logged")
    if "nova-hooks" in runs and len(logged) != DOCUMENTED["failures_logged_21"]:
        failures.append(f"failing plugin: {len(logged)} failures logged, docs/attaching.md "
                        f"says {DOCUMENTED['failures_logged_21']} on 21.2.4")

    legacy = Counter(_shape(r) for r in records if r["plugin"] == "legacy")
    print(f"legacy class calls through nova_hookspec: {sum(legacy.values())}")
    if "nova-hooks" in runs:
        own = Counter(_shape(r) for r in _records(directory, "nova-hooks.jsonl")
                      if r["plugin"] == "legacy")
        print(f"legacy class calls through Nova's own nova/hooks.py: {sum(own.values())}")
        if sum(own.values()) != DOCUMENTED["legacy_calls_21"]:
            failures.append(f"the legacy class got {sum(own.values())} calls from Nova's "
                            f"nova/hooks.py, docs/attaching.md says "
                            f"{DOCUMENTED['legacy_calls_21']}")
        if own != legacy:
            failures.append(f"the legacy class got other calls from nova_hookspec than from "
                            f"Nova: only Nova {sorted((own - legacy).items())}, only "
                            f"nova_hookspec {sorted((legacy - own).items())}")
    elif not legacy:
        failures.append("the legacy class was never called")
    return failures


def _passed(runs: dict[str, Any], documented: bool) -> list[str]:
    """Every run's tests passed (or were skipped), and some passed: runs that agree
    because every test errors both ways are no comparison. ``documented``: the run of
    ``FUNCTIONAL_TESTS``, where exactly the documented number pass."""
    failures = []
    for mode, run in runs.items():
        broken = sorted(t for t, outcome in run["outcomes"].items()
                        if outcome not in ("pass", "skip"))
        failures += [f"{test}: {run['outcomes'][test]} in the {mode} run" for test in broken]
        passed = sum(outcome == "pass" for outcome in run["outcomes"].values())
        if not passed:
            failures.append(f"{mode}: no Nova test passed")
        elif documented and passed != DOCUMENTED["tests"]:
            failures.append(f"{mode}: {passed} Nova test(s) passed, docs/attaching.md says "
                            f"all {DOCUMENTED['tests']}")
    return failures


POINTS = ["build_and_run_instance", "create_instance", "delete_instance",
          "instance_network_info"]


def _attached_first(directory: Path, run: dict[str, Any]) -> list[str]:
    """With attach_nova() called before Nova was imported: every point attached in
    the end, and the typed observers called exactly as in the attached run."""
    failures = []
    if run.get("attached") != POINTS:
        failures.append(f"attached-first: attached {run.get('attached')}, not all four")
    if not (directory / "attached.json").exists():
        return failures
    first = Counter((r["test"], r["hook"], r["phase"])
                    for r in _records(directory, "attached-first.jsonl") if r["plugin"] == "typed")
    after = Counter((r["test"], r["hook"], r["phase"])
                    for r in _records(directory, "attached.jsonl") if r["plugin"] == "typed")
    print(f"typed observer calls: attached {sum(after.values())}, "
          f"attached-first {sum(first.values())}")
    if first != after:
        failures.append(f"attached-first: other observer calls than attached: only first "
                        f"{sorted((first - after).items())[:5]}, only after "
                        f"{sorted((after - first).items())[:5]}")
    return failures


def _posts(directory: Path, name: str) -> list[dict[str, Any]]:
    return [r for r in _records(directory, name) if r["plugin"] == "posts"]


def _deferred(directory: Path) -> list[str]:
    """The deferred observer got, from the worker, what it gets in the call."""
    failures = []
    deferred = _posts(directory, "attached-deferred.jsonl")
    in_call = _posts(directory, "attached.jsonl")
    in_tests = [r for r in deferred if r["test"]]
    if in_tests:
        failures.append(f"attached-deferred: {len(in_tests)} deferred observer call(s) ran "
                        f"in a Nova test, not in the worker: {in_tests[:2]}")

    def key(record: dict[str, Any]) -> tuple[Any, ...]:  # UUIDs differ between the runs
        return (record["hook"], len(record["instances"]),
                tuple(sorted(record["types"].items())))

    worker, call = Counter(map(key, deferred)), Counter(map(key, in_call))
    print(f"deferred observer: {sum(call.values())} calls in the call, "
          f"{sum(worker.values())} run by the worker")
    if not call:
        failures.append("attached-deferred: the observer never ran in the attached run")
    if set(worker) != set(call):  # the arguments' types, as the call gives them
        failures.append(f"attached-deferred: the worker's calls differ: only worker "
                        f"{sorted(set(worker) - set(call))[:3]}, only in the call "
                        f"{sorted(set(call) - set(worker))[:3]}")
    # How many: one job per call Nova made in that same run (the typed observer's post
    # calls there). Nova's own count moves between runs (a network info refresh more or
    # less), so the attached run is no measure of it.
    made = Counter(r["hook"] for r in _records(directory, "attached-deferred.jsonl")
                   if r["plugin"] == "typed" and r["phase"] == "post")
    ran = Counter(r["hook"] for r in deferred)
    if ran != made:
        failures.append(f"attached-deferred: the worker ran {sorted(ran.items())}, the "
                        f"calls of that run made {sorted(made.items())}")
    return failures


def _shape(record: dict[str, Any]) -> tuple[Any, ...]:
    return (record["test"], record["hook"], record["phase"], tuple(record["args"]),
            tuple(record["kwargs"]), record["rv"])


def _phase_order(typed: list[dict[str, Any]]) -> list[str]:
    """Per instance: each post after its pre; the build after a create of its test;
    the delete after the build. (In Nova's functional harness the build is cast
    synchronously, so it runs inside ``API.create``: the instance appears in
    create's result only after its build.)"""
    failures = []
    first_create: dict[str, int] = {}
    per_instance: dict[tuple[str, str], list[tuple[int, str, str]]] = {}
    for index, record in enumerate(typed):
        if record["hook"] == "create_instance" and record["phase"] == "pre":
            first_create.setdefault(record["test"], index)
        for uuid in record["instances"]:
            per_instance.setdefault((record["test"], uuid), []).append(
                (index, record["hook"], record["phase"]))
    for (test, uuid), events in per_instance.items():
        open_pre: Counter[str] = Counter()
        for _, hook, phase in events:
            if phase == "pre":
                open_pre[hook] += 1
            elif open_pre[hook] > 0:
                open_pre[hook] -= 1
            elif hook != "create_instance":  # the instance appears in create's result
                failures.append(f"{test} {uuid}: {hook} post without its pre")
        first = {hook: next((i for i, h, p in events if h == hook and p == "pre"), None)
                 for hook in ORDER[1:]}
        build, delete = first["build_and_run_instance"], first["delete_instance"]
        created = first_create.get(test)
        if build is not None and (created is None or created > build):
            failures.append(f"{test} {uuid}: built before any create_instance_pre")
        if delete is not None and build is not None and delete < build:
            failures.append(f"{test} {uuid}: deleted before it was built")
    return failures


def main(directory: str) -> int:
    failures = check(Path(directory))
    for failure in failures:
        print(f"FAILED: {failure}")
    print("nova-functional: " + ("OK" if not failures else f"{len(failures)} check(s) failed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
