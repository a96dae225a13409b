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
