"""Operator controls: which installed plugins may load, as env vars and as API."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from conftest import Site

import nova_hookspec


@pytest.fixture(autouse=True)
def _api_reset() -> Iterator[None]:
    yield
    nova_hookspec.configure()


IMPORT_MARK = """
import hooklog
hooklog.EVENTS.append("imported {name}")
class Hook:
    def pre(self, *args, **kwargs):
        pass
PLUGIN = None
"""


def install(site: Site) -> None:
    site.add_dist("acme-ipam-hooks", {"nova.hooks": ["create_instance = acme_ipam:Hook"]},
                  {"acme_ipam": IMPORT_MARK.format(name="ipam")})
    site.add_dist("acme-audit", {"nova.hooks": ["create_instance = acme_audit:Hook"]},
                  {"acme_audit": IMPORT_MARK.format(name="audit")})


def loaded() -> list[str | None]:
    pm = nova_hookspec.get_plugin_manager()
    pm.load_all()  # legacy classes load when their hook is first called
    infos = pm.plugin_infos.values()
    return sorted(i.distribution for i in infos if (i.distribution or "").startswith("acme"))


def test_disable_autoload(site: Site, monkeypatch: pytest.MonkeyPatch,
                          caplog: pytest.LogCaptureFixture) -> None:
    install(site)
    caplog.set_level(logging.INFO, logger="nova_hookspec")
    monkeypatch.setenv("NOVA_HOOKSPEC_DISABLE_AUTOLOAD", "1")
    assert loaded() == []
    assert site.events == []  # never imported
    assert any("not loading plugin 'acme-audit:acme_audit:Hook[create_instance]'" in r.getMessage()
               and "NOVA_HOOKSPEC_DISABLE_AUTOLOAD" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("item", ["acme-ipam-hooks", "ACME_ipam.hooks", "acme_ipam:Hook"])
def test_disable_by_distribution_or_value(
    site: Site, monkeypatch: pytest.MonkeyPatch, item: str
) -> None:
    install(site)
    monkeypatch.setenv("NOVA_HOOKSPEC_DISABLE", f"something-else, {item}")
    assert loaded() == ["acme-audit"]
    assert site.events == ["imported audit"]


def test_allow_list(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    install(site)
    monkeypatch.setenv("NOVA_HOOKSPEC_PLUGINS", "acme-ipam-hooks")
    assert loaded() == ["acme-ipam-hooks"]
    assert site.events == ["imported ipam"]


def test_api_wins_over_environment(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    install(site)
    monkeypatch.setenv("NOVA_HOOKSPEC_DISABLE_AUTOLOAD", "1")
    nova_hookspec.configure(autoload=True, disable=["acme_audit:Hook"])
    assert loaded() == ["acme-ipam-hooks"]
    nova_hookspec.configure(allow=["acme-audit"])
    nova_hookspec.reset()
    assert loaded() == []  # environment's autoload=off is back in force
    monkeypatch.delenv("NOVA_HOOKSPEC_DISABLE_AUTOLOAD")
    nova_hookspec.reset()
    assert loaded() == ["acme-audit"]


def test_code_registration_still_works_without_autoload(site: Site) -> None:
    install(site)
    nova_hookspec.configure(autoload=False)
    seen = []

    class Mine:
        @nova_hookspec.hookimpl
        def create_instance_post(self, result):
            seen.append(result)

    nova_hookspec.get_plugin_manager().register(Mine())
    hooked = nova_hookspec.add_hook("create_instance")(
        lambda self, context, flavor, image_href: ([], "r"))
    hooked("api", "ctx", "m1", "img")
    assert seen == [([], "r")]
