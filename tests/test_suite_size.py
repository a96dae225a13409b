"""The suite fails when it finds too few tests (issue 30 item 10): a collection
mistake must not pass CI. Runs pytest over the tests/ folder in a subprocess,
as the README's command and ``nox -s tests`` do.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import MINIMUM_TESTS

HERE = Path(__file__).resolve().parent


def _pytest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                           *args], cwd=HERE.parent, capture_output=True, text=True,
                          timeout=600, check=False)


def test_a_run_of_the_folder_that_collects_too_few_tests_fails() -> None:
    # As if every file but one had stopped being collected (a renamed file, a bad pattern).
    ignored = [f"--ignore={path}" for path in sorted(HERE.glob("test_*.py"))
               if path.name != "test_typing.py"]
    ran = _pytest("tests", *ignored)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "passed" in ran.stdout  # its own tests passed: the count failed it
    assert (f"test(s) collected, fewer than the {MINIMUM_TESTS} expected "
            "(MINIMUM_TESTS in tests/conftest.py)") in ran.stdout


def test_a_run_that_finds_no_test_fails() -> None:
    ran = _pytest("tests", "-k", "no_test_has_this_name_at_all")
    assert ran.returncode == 5, ran.stdout + ran.stderr  # pytest's "no tests ran"


def test_a_named_file_is_not_held_to_the_suites_size() -> None:
    ran = _pytest("tests/test_typing.py")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "MINIMUM_TESTS" not in ran.stdout
