"""Test helpers: real distributions on sys.path, a clean manager per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sitehelper import Site, site_fixture

import nova_hookspec

__all__ = ["Site"]


@pytest.fixture(autouse=True)
def _fresh_manager() -> Iterator[None]:
    nova_hookspec.reset()
    yield
    nova_hookspec.reset()


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    yield from site_fixture(tmp_path, monkeypatch)
