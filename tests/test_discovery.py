"""Entry-point discovery: once per process, thread-safe, broken plugins skipped."""

from __future__ import annotations

import logging
import threading

import pytest
from conftest import Site

import nova_hookspec
from nova_hookspec import add_hook


@add_hook("delete_instance")
def delete(self, context, instance, bdms):
    return None


COUNTING = """
import hooklog
from nova_hookspec import hookimpl

class Counter:
    def __init__(self):
        hooklog.INSTANCES.append(self)

    @hookimpl
    def delete_instance_post(self, instance):
        hooklog.EVENTS.append((id(self), instance))

PLUGIN = Counter()
"""


def discoveries(caplog: pytest.LogCaptureFixture) -> int:
    return sum("nova_hookspec discovery:" in r.getMessage() for r in caplog.records)


def test_eight_threads_first_call_trigger_one_discovery(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    # A legacy class is instantiated on each discovery: count the instances.
    site.add_dist("acme-count", {"nova.hooks": ["delete_instance = acme_count:Legacy"]}, {
        "acme_count": """
import hooklog, time
class Legacy:
    def __init__(self):
        time.sleep(0.05)  # widen the race window
        hooklog.INSTANCES.append(self)
    def post(self, rv, *args, **kwargs):
        hooklog.EVENTS.append(args[2])
"""})
    caplog.set_level(logging.INFO, logger="nova_hookspec")
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def first_call(n: int) -> None:
        try:
            barrier.wait()
            delete("mgr", "ctx", f"inst-{n}", [])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=first_call, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    import hooklog  # type: ignore[import-not-found]

    assert errors == []
    assert len(hooklog.INSTANCES) == 1
    assert discoveries(caplog) == 1
    assert sorted(site.events) == sorted(f"inst-{n}" for n in range(8))


def test_discovery_is_lazy_and_reset_rediscovers(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    site.add_dist("acme-count", {"nova.hooks": ["delete_instance = acme_count:Legacy"]}, {
        "acme_count": """
import hooklog
class Legacy:
    def __init__(self):
        hooklog.INSTANCES.append(self)
    def pre(self, *args, **kwargs):
        pass
"""})
    caplog.set_level(logging.INFO, logger="nova_hookspec")
    add_hook("delete_instance")(lambda self, context, instance, bdms: None)
    assert discoveries(caplog) == 0  # decorating discovers nothing
    for _ in range(5):
        delete("mgr", "ctx", "inst", [])
    assert discoveries(caplog) == 1
    nova_hookspec.reset()
    delete("mgr", "ctx", "inst", [])
    assert discoveries(caplog) == 2
    import hooklog  # type: ignore[import-not-found]

    assert len(hooklog.INSTANCES) == 2


def test_broken_entry_points_are_logged_and_skipped(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    site.add_dist("acme-broken", {"nova_hookspec": [
        "missing = acme_missing_module",
        "raises = acme_raises",
        "typo = acme_typo",
    ]}, {
        "acme_raises": "raise ImportError('no ldap library')\n",
        "acme_typo": """
from nova_hookspec import hookimpl
@hookimpl
def delete_instance_pots(instance):
    pass
""",
    })
    site.add_dist("acme-good", {"nova_hookspec": ["good = acme_good:PLUGIN"]}, {"acme_good": COUNTING})
    assert delete("mgr", "ctx", "inst", []) is None
    assert site.events
    assert site.events[0][1] == "inst"
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 3
    missing, raises, typo = errors
    assert "'missing = acme_missing_module'" in missing
    assert "acme-broken" in missing
    assert "ModuleNotFoundError" in missing
    assert "'raises = acme_raises'" in raises
    assert "no ldap library" in raises
    assert "'typo = acme_typo'" in typo
    assert "'delete_instance_pots'" in typo
    assert "did you mean 'delete_instance_post'" in typo
    pm = nova_hookspec.get_plugin_manager()
    assert sorted(pm.plugin_infos) == ["acme-good:acme_good:PLUGIN"]


def test_plugin_names_carry_distribution_and_entry_point(site: Site) -> None:
    site.add_dist("acme-good", {"nova_hookspec": ["good = acme_good:PLUGIN"]}, {"acme_good": COUNTING})
    pm = nova_hookspec.get_plugin_manager()
    info = pm.plugin_infos["acme-good:acme_good:PLUGIN"]
    assert (info.kind, info.distribution, info.version, info.entry_point) == (
        "typed", "acme-good", "1.0", "good = acme_good:PLUGIN")
    assert pm.get_plugin("acme-good:acme_good:PLUGIN") is not None


def test_register_in_code_raises_with_nearest_argument() -> None:
    class Typo:
        @nova_hookspec.hookimpl
        def delete_instance_pre(self, instanse):
            pass

    with pytest.raises(nova_hookspec.PluginValidationError) as err:
        nova_hookspec.get_plugin_manager().register(Typo(), "typo-plugin")
    message = str(err.value)
    assert "'typo-plugin'" in message
    assert "'delete_instance_pre'" in message
    assert "did you mean 'instance'" in message
