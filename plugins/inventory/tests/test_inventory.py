"""The inventory plugin, found through its real entry point, on a hooked create/delete."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

import nova_hookspec
from nova_hookspec import add_hook


def instance(hostname: str) -> SimpleNamespace:
    return SimpleNamespace(uuid=str(uuid.uuid4()), hostname=hostname)


class API:
    @add_hook("create_instance")
    def create(self, context, flavor, image_href, display_name=None, max_count=None):
        return [instance(f"{display_name}-{n}") for n in range(max_count or 1)], "r-7"


class ComputeManager:
    @add_hook("delete_instance")
    def _delete_instance(self, context, instance, bdms):
        return None


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "inventory.sqlite3"
    monkeypatch.setenv("NOVA_HOOKSPEC_INVENTORY_DB", str(path))
    monkeypatch.setenv("NOVA_HOOKSPEC_PLUGINS", "nova-hookspec-inventory")
    nova_hookspec.reset()
    return path


def test_create_records_and_delete_removes(db: Path) -> None:
    from nova_hookspec_inventory import plugin

    ctx = SimpleNamespace(project_id="blue")
    instances, _ = API().create(ctx, "m1", "img", display_name="web", max_count=2)
    assert [(r.hostname, r.project_id, r.reservation_id) for r in plugin.records()] == [
        ("web-0", "blue", "r-7"), ("web-1", "blue", "r-7")]
    assert db.exists()
    ComputeManager()._delete_instance(ctx, instances[0], [])
    ComputeManager()._delete_instance(ctx, instances[0], [])  # a second delete is harmless
    assert [r.hostname for r in plugin.records()] == ["web-1"]


def test_concurrent_creates_from_threads(db: Path) -> None:
    from nova_hookspec_inventory import plugin

    threads = [threading.Thread(target=API().create, args=(None, "m1", "img"),
                                kwargs={"display_name": f"t{n}"}) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.hostname for r in plugin.records()) == [f"t{n}-0" for n in range(8)]


def test_it_lists_what_it_holds_for_reconcile(db: Path) -> None:
    from nova_hookspec_inventory import plugin

    ctx = SimpleNamespace(project_id="blue")
    instances, _ = API().create(ctx, "m1", "img", display_name="web", max_count=3)
    ComputeManager()._delete_instance(ctx, instances[1], [])
    pm = nova_hookspec.get_plugin_manager()
    [listed] = pm.hook.known_instances()  # the plugin's generator, found by its hook
    assert sorted(listed) == sorted([instances[0].uuid, instances[2].uuid])
    assert sorted(plugin.known_instances()) == sorted([instances[0].uuid, instances[2].uuid])
