"""``tools/failure_digest.py``: what ``.ci/run`` prints at its end for a failed test
of this project's suites, read from a real pytest run's log."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parents[1] / "tools" / "failure_digest.py"

FAILING = '''
import pytest

@pytest.fixture
def broken():
    raise RuntimeError("setup broke")

@pytest.mark.parametrize("n", [1, 2], ids=["one", "two-lanes"])
def test_param(n):
    ledger = {"api-1:10": 2}
    assert n == 1, ledger

def test_setup(broken):
    pass

def test_fine():
    pass
'''


def _log(tmp_path: Path, body: str) -> Path:
    (tmp_path / "tests_x").mkdir()
    (tmp_path / "tests_x" / "test_f.py").write_text(body)
    ran = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rfE",
                          "tests_x"], check=False, cwd=tmp_path, capture_output=True,
                         text=True)
    log = tmp_path / "suites.log"
    log.write_text("unrelated\n" * 50 + ran.stdout + "more after\n" * 50)
    return log


def _digest(*logs: Path) -> str:
    return subprocess.run([sys.executable, str(TOOL), *map(str, logs)], capture_output=True,
                          text=True, check=True).stdout


def test_each_failed_test_is_named_with_the_end_of_its_report(tmp_path: Path) -> None:
    out = _digest(_log(tmp_path, FAILING))
    named = [line for line in out.splitlines() if line.startswith("--- ")]
    assert named == ["--- tests_x/test_f.py::test_param[two-lanes]",
                     "--- tests_x/test_f.py::test_setup"]
    assert "E       AssertionError: {'api-1:10': 2}" in out
    assert "E       RuntimeError: setup broke" in out
    assert "test_fine" not in out


def test_a_log_without_failures_gives_nothing(tmp_path: Path) -> None:
    assert _digest(_log(tmp_path, "def test_fine():\n    pass\n")) == ""
