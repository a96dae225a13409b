"""Test helpers: real distributions on sys.path, a clean manager per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sitehelper import Site, site_fixture

import nova_hookspec
from nova_hookspec._compat import entry_points

__all__ = ["INSTALLED", "Site"]


def _installed_plugin_distributions() -> set[str]:
    found = entry_points(nova_hookspec.TYPED_GROUP, nova_hookspec.LEGACY_GROUP)
    return {item.distribution for item in found if item.distribution}


#: Plugins installed in the environment that runs the tests (the example
#: plugins after the README's first command, an operator's own): the suite
#: blocks them, so each test sees only the distributions it creates.
INSTALLED = ",".join(sorted(_installed_plugin_distributions()))


@pytest.fixture(autouse=True)
def _fresh_manager(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    if INSTALLED:
        monkeypatch.setenv("NOVA_HOOKSPEC_DISABLE", INSTALLED)
    nova_hookspec.reset()
    yield
    nova_hookspec.reset()


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    yield from site_fixture(tmp_path, monkeypatch)
