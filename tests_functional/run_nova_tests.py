"""Run some of Nova's own functional tests in this process; write their outcomes.

    python tests_functional/run_nova_tests.py MODE OUT.json TEST_ID...

MODE is ``baseline`` (nothing of nova_hookspec's is used), ``nova-hooks``
(Nova <= 21: the probe's legacy class under Nova's own ``nova/hooks.py``) or
``attached`` (``nova_hookspec.attach_nova()`` once Nova's modules are
imported, as the launcher does), ``attached-deferred`` (the same, run with
some plugins deferred: the environment names them and the journal; a worker
runs their jobs afterwards) or ``attached-first`` (``attach_nova()``
first thing, before anything of Nova is imported). The probe plugins
record to ``$NOVA_HOOKSPEC_PROBE_RECORD``; this script sets
``NOVA_HOOKSPEC_PROBE_TEST`` to the test running, and counts the WARNING
lines nova_hookspec logs about each plugin.

Exit status 1 when a test failed or errored, or when no test passed (a run
where every test errors, or none is found, is no comparison); the outcomes
are written either way, for ``compare.py``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import unittest


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


class _Result(unittest.TestResult):
    def __init__(self) -> None:
        super().__init__()
        self.outcomes: dict[str, str] = {}
        self.details: dict[str, str] = {}

    def startTest(self, test: unittest.TestCase) -> None:  # noqa: N802 - unittest's name
        os.environ["NOVA_HOOKSPEC_PROBE_TEST"] = test.id()
        super().startTest(test)

    def addSuccess(self, test: unittest.TestCase) -> None:  # noqa: N802
        self.outcomes[test.id()] = "pass"

    def addFailure(self, test: unittest.TestCase, err: object) -> None:  # noqa: N802
        self.outcomes[test.id()] = "fail"
        self.details[test.id()] = self._exc_info_to_string(err, test)  # type: ignore[arg-type]

    def addError(self, test: unittest.TestCase, err: object) -> None:  # noqa: N802
        self.outcomes[test.id()] = "error"
        self.details[test.id()] = self._exc_info_to_string(err, test)  # type: ignore[arg-type]

    def addSkip(self, test: unittest.TestCase, reason: str) -> None:  # noqa: N802
        self.outcomes[test.id()] = "skip"


def main(mode: str, out: str, test_ids: list[str]) -> int:
    warnings = _Warnings()
    logging.getLogger("nova_hookspec").addHandler(warnings)
    if mode == "attached-first":  # first thing in the process, before Nova is imported
        import nova_hookspec

        nova_hookspec.attach_nova(strict=True)
        early = [m for m in ("nova.compute.api", "nova.compute.manager", "nova.network.neutron")
                 if m in sys.modules]
        if early:
            raise SystemExit(f"attach_nova() imported Nova's modules ahead of Nova: {early}")
    suite = unittest.defaultTestLoader.loadTestsFromNames(test_ids)  # imports Nova
    if mode in ("attached", "attached-deferred"):
        import nova_hookspec

        nova_hookspec.attach_nova(strict=True)
    elif mode not in ("baseline", "nova-hooks", "attached-first"):
        raise SystemExit(f"unknown mode {mode!r}")
    result = _Result()
    started = time.perf_counter()
    suite.run(result)
    attached: list[str] = []
    if mode.startswith("attached"):
        import nova_hookspec

        attached = sorted(nova_hookspec._nova.attach.attached())
    with open(out, "w", encoding="utf-8") as handle:
        json.dump({"mode": mode, "outcomes": result.outcomes, "details": result.details,
                   "warnings": warnings.lines, "seconds": time.perf_counter() - started,
                   "attached": attached},
                  handle, indent=1, sort_keys=True)
    for test_id, outcome in sorted(result.outcomes.items()):
        print(f"{mode}: {outcome:<5} {test_id}")
    return verdict(mode, result.outcomes, result.details)


def verdict(mode: str, outcomes: dict[str, str], details: dict[str, str]) -> int:
    """0 when every test passed (or was skipped) and at least one passed; else 1, saying why."""
    broken = sorted(t for t, outcome in outcomes.items() if outcome not in ("pass", "skip"))
    for test_id in broken:
        print(f"--- {mode} {outcomes[test_id]} {test_id}\n{details.get(test_id, '')[-3000:]}")
    passed = sum(outcome == "pass" for outcome in outcomes.values())
    if broken or not passed:
        print(f"{mode}: {passed} of {len(outcomes)} Nova test(s) passed; "
              f"{len(broken)} failed or errored", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
