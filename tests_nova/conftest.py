"""Integration tests against a real Nova from PyPI (nox -s nova-21 nova-34)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from sitehelper import Site, site_fixture

import nova_hookspec

__all__ = ["Site"]


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    nova_hookspec.detach_nova()
    nova_hookspec.reset()
    yield
    nova_hookspec.detach_nova()
    nova_hookspec.reset()


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    yield from site_fixture(tmp_path, monkeypatch)
