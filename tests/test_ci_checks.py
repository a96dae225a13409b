"""The checks CI relies on fail when they should (issue 30 item 10): Nova's
functional runner and comparison fail when the tests do not pass, not only when
the runs disagree, and hold docs/attaching.md's counts; pluggy's suite runner
honours pytest's exit code, a minimum pass count and the full test ids of the
documented differences. Real scripts in subprocesses, on small stand-in suites.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests_functional"))

import compare  # noqa: E402 - tests_functional/compare.py

POINTS = compare.POINTS


def _script(path: str, *args: str, cwd: Path = ROOT,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / path), *args], capture_output=True,
                          text=True, cwd=cwd, env={**os.environ, **(env or {})}, timeout=300,
                          check=False)


# ------------------------------------------------------------ Nova's functional tests

SUITE = '''
import os, unittest

class Servers(unittest.TestCase):
    def test_boot(self):
        if os.environ.get("BREAK"):
            raise RuntimeError("the harness is broken")

    def test_delete(self):
        pass
'''


def test_the_functional_runner_fails_when_its_tests_do_not_pass(tmp_path: Path) -> None:
    (tmp_path / "standin_servers.py").write_text(SUITE)
    env = {"PYTHONPATH": str(tmp_path)}
    ids = ["standin_servers.Servers.test_boot", "standin_servers.Servers.test_delete"]
    good = _script("tests_functional/run_nova_tests.py", "baseline", str(tmp_path / "ok.json"),
                   *ids, env=env)
    assert good.returncode == 0, good.stdout + good.stderr
    broken = _script("tests_functional/run_nova_tests.py", "baseline",
                     str(tmp_path / "broken.json"), *ids, env={**env, "BREAK": "1"})
    assert broken.returncode == 1
    assert "baseline: 1 of 2 Nova test(s) passed; 1 failed or errored" in broken.stderr
    # The outcomes are written either way, for compare.py.
    assert json.loads((tmp_path / "broken.json").read_text())["outcomes"] == {
        ids[0]: "error", ids[1]: "pass"}


def _run(directory: Path, mode: str, outcomes: dict[str, str]) -> None:
    (directory / f"{mode}.json").write_text(json.dumps(
        {"mode": mode, "outcomes": outcomes, "details": {}, "warnings": [], "seconds": 1.0,
         "attached": POINTS if mode.startswith("attached") else []}))


def test_the_comparison_fails_when_every_test_errors_both_ways(tmp_path: Path) -> None:
    tests = ["nova.tests.functional.test_servers.ServersTest.test_a",
             "nova.tests.functional.test_servers.ServersTest.test_b"]
    for mode in ("baseline", "attached-first"):
        _run(tmp_path, mode, dict.fromkeys(tests, "error"))
    compared = _script("tests_functional/compare.py", str(tmp_path))
    assert compared.returncode == 1, compared.stdout
    assert f"FAILED: {tests[0]}: error in the baseline run" in compared.stdout
    assert "FAILED: attached-first: no Nova test passed" in compared.stdout
    for mode in ("baseline", "attached-first"):  # the same runs, passing: no failure
        _run(tmp_path, mode, dict.fromkeys(tests, "pass"))
    compared = _script("tests_functional/compare.py", str(tmp_path))
    assert compared.returncode == 0, compared.stdout
    assert "nova-functional: OK" in compared.stdout


def test_the_counts_compare_checks_are_the_ones_docs_attaching_states() -> None:
    page = " ".join((ROOT / "docs" / "attaching.md").read_text().split())
    words = {"seven": 7, "eight": 8, "six": 6, "nine": 9}
    [runs] = re.findall(r"runs (\w+) of those tests", page)
    [all_pass] = re.findall(r"\(all (\w+) pass\)", page)
    assert words[runs] == words[all_pass] == compare.DOCUMENTED["tests"]
    assert f"naming it ({compare.DOCUMENTED['failures_logged_21']} on 21.2.4)" in page
    assert f"({compare.DOCUMENTED['legacy_calls_21']} calls each)" in page


# ------------------------------------------------------------ pluggy's own suite

def _sdist(tmp_path: Path, tests: str) -> Path:
    sdist = tmp_path / "pluggy-sdist"
    (sdist / "testing").mkdir(parents=True)
    (sdist / "tox.ini").write_text("[pytest]\n")  # its own rootdir, as pluggy's sdist has
    (sdist / "testing" / "test_pluginmanager.py").write_text(tests)
    return sdist


def _pluggy_run(sdist: Path) -> subprocess.CompletedProcess[str]:
    return _script("tests_pluggy/run.py", str(sdist), cwd=sdist)


def test_pluggys_runner_fails_when_pytest_finds_no_test(tmp_path: Path) -> None:
    ran = _pluggy_run(_sdist(tmp_path, "X = 1\n"))
    assert ran.returncode == 1
    assert "pytest exited 5" in ran.stdout


def test_pluggys_runner_fails_below_its_minimum_pass_count(tmp_path: Path) -> None:
    ran = _pluggy_run(_sdist(tmp_path, "def test_one():\n    pass\n"))
    assert ran.returncode == 1
    assert re.search(r"suite: 1 passed, 0 failed \(at least \d+ must pass\)", ran.stdout)


def test_pluggys_runner_matches_a_difference_with_its_parameters(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import pluggy

    sys.path.insert(0, str(ROOT / "tests_pluggy"))
    try:
        import run as pluggy_run  # tests_pluggy/run.py
    finally:
        sys.path.remove(str(ROOT / "tests_pluggy"))
    # The page's row for the pluggy installed here names one parameter of a test.
    page = tmp_path / "pluggy-differences.md"
    page.write_text("| `testing/test_pluginmanager.py::test_hook_tracing[spec-is-class]` | "
                    f"{pluggy.__version__} | error policy: logged |\n")
    monkeypatch.setattr(pluggy_run, "DOCS", page)
    monkeypatch.setattr(pluggy_run, "MINIMUM_PASSED", {"0.0": 0})
    sdist = _sdist(tmp_path, (
        "import pytest\n"
        "@pytest.mark.parametrize('spec', ['spec-is-class', 'spec-is-anything'], ids=str)\n"
        "def test_hook_tracing(spec):\n"
        "    assert False\n"))
    monkeypatch.chdir(sdist)
    assert pluggy_run.main(sdist) == 1  # the other parameter's failure is not documented
    out = capsys.readouterr().out
    assert "test_hook_tracing[spec-is-anything]: NOT DOCUMENTED" in out
    assert "test_hook_tracing[spec-is-class]: error policy: logged" in out
    page.write_text(page.read_text() + "| `testing/test_pluginmanager.py::test_hook_tracing"
                    f"[spec-is-anything]` | {pluggy.__version__} | error policy: logged |\n")
    assert pluggy_run.main(sdist) == 0  # both listed, by their full ids
