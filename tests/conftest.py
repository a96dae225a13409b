"""Test helpers: real distributions on sys.path, a clean manager per test.

Plugin distributions installed beside the suite (the example plugins after
the README's first command) are hidden from discovery, here and in every
Python the tests start: each test sees only the distributions it creates
(:mod:`hidden_plugins`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sitehelper import Site, site_fixture

import nova_hookspec

HERMETIC = str(Path(__file__).resolve().parent / "hermetic")
sys.path.insert(0, HERMETIC)

import hidden_plugins  # noqa: E402 - found through the folder just put on sys.path

__all__ = ["HIDDEN", "Site"]

#: The installed plugin distributions the suite hides (their metadata folders).
HIDDEN = hidden_plugins.installed_plugin_paths()
os.environ[hidden_plugins.ENV] = os.pathsep.join(HIDDEN)
os.environ["PYTHONPATH"] = os.pathsep.join(
    [HERMETIC, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))])
hidden_plugins.hide(HIDDEN)


@pytest.fixture(autouse=True)
def _fresh_manager() -> Iterator[None]:
    nova_hookspec.reset()
    yield
    nova_hookspec.reset()


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    yield from site_fixture(tmp_path, monkeypatch)


# ----------------------------------------------------------------- the suite's size

#: The fewest tests a run of the whole tests/ folder collects and passes (the
#: README's command, ``nox -s tests``, ``.ci/run``): a collection mistake that
#: finds no test, or too few, fails the run, as does a mass of skips. The one
#: place this number is kept; raise it as tests are added.
MINIMUM_TESTS = 300

_HERE = Path(__file__).resolve().parent
_counted = {"collected": 0, "passed": 0}


def _whole_suite(config: pytest.Config) -> bool:
    """Whether the run is of the tests/ folder itself (named, or the default)."""
    return all(Path(str(arg).split("::")[0]).resolve() == _HERE for arg in config.args)


def _selected(config: pytest.Config) -> bool:
    """Whether the run was narrowed by keyword, marker or a deselection."""
    return bool(config.getoption("keyword") or config.getoption("markexpr")
                or config.getoption("deselect") or config.getoption("lf", False))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    _counted["collected"] = len(items)  # before -k and -m deselect any


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed:
        _counted["passed"] += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if not _whole_suite(config) or config.getoption("collectonly") or exitstatus not in (0, 5):
        return
    collected, passed = _counted["collected"], _counted["passed"]
    problem = None
    if collected < MINIMUM_TESTS:
        problem = f"{collected} test(s) collected"
    elif not _selected(config) and passed < MINIMUM_TESTS:
        problem = f"{passed} test(s) passed"
    if problem is not None:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        line = (f"nova_hookspec's suite: {problem}, fewer than the {MINIMUM_TESTS} expected "
                f"(MINIMUM_TESTS in tests/conftest.py)")
        if reporter is not None:
            reporter.write_line(line, red=True)
        else:
            print(line, file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
